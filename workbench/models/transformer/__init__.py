"""The transformer: a HF encoder as a thinc model, its windows, output data,
token alignment, span getters, annotation setters, listener and local loading."""
from .data import FullTransformerBatch, TransformerData
from .listener import TransformerListener
from .model import TransformerModel

__all__ = ["FullTransformerBatch", "TransformerData", "TransformerListener", "TransformerModel"]
