"""Transformer pieces under the names the specification's Python examples use:
`Transformer`, `TransformerModel`, `TransformerData`, `FullTransformerBatch`,
`span_getters.get_doc_spans`, `annotation_setters.null_annotation_setter`, `registry`."""
from ..models.transformer import TransformerModel
from ..models.trf_data import FullTransformerBatch, TransformerData
from ..models.trf_listener import TransformerListener
from ..pipeline.transformer import Transformer
from ..registry import registry
from . import annotation_setters, span_getters

__all__ = ["FullTransformerBatch", "Transformer", "TransformerData", "TransformerListener", "TransformerModel",
           "annotation_setters", "registry", "span_getters"]
