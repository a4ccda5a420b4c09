"""Transformer pieces under the names the specification's Python examples use:
`Transformer`, `TransformerModel`, `TransformerData`, `FullTransformerBatch`, `TruncationWarning`, `TextEncodingWarning`,
`span_getters.get_doc_spans`, `annotation_setters.null_annotation_setter`, `registry`."""
import sys

from .models.transformer import (
    FullTransformerBatch,
    TextEncodingWarning,
    TransformerData,
    TransformerListener,
    TransformerModel,
    TruncationWarning,
    annotation_setters,
    span_getters,
)
from .pipeline.transformer import TransformerComponent as Transformer  # the specification's name
from .registry import registry

__all__ = ["FullTransformerBatch", "TextEncodingWarning", "Transformer", "TransformerData", "TransformerListener",
           "TransformerModel", "TruncationWarning", "annotation_setters", "registry", "span_getters"]

# `import workbench.transformers.span_getters` (and `.annotation_setters`) keep working.
sys.modules[f"{__name__}.span_getters"] = span_getters
sys.modules[f"{__name__}.annotation_setters"] = annotation_setters
