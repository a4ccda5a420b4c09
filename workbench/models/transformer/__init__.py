"""The transformer: a HF encoder as a thinc model (model), its windows (windows), how it
is saved (serialization), its output data (data), token alignment (alignment), span
getters, annotation setters, the listener and local loading (hf_loading)."""
from .data import FullTransformerBatch, TransformerData
from .listener import TransformerListener
from .model import TransformerModel
from .windows import TextEncodingWarning, TruncationWarning

__all__ = ["FullTransformerBatch", "TransformerData", "TransformerListener", "TransformerModel", "TextEncodingWarning", "TruncationWarning"]
