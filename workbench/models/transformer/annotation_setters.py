"""Annotation setters: `(docs, FullTransformerBatch) -> None`, run after each transformer batch."""
from typing import Callable, List

from ...text.doc import Doc
from .data import FullTransformerBatch

if not Doc.has_extension("trf_data"):
    Doc.set_extension("trf_data", default=None)


def null_annotation_setter(docs: List[Doc], trf_data: FullTransformerBatch) -> None:
    """Set nothing: doc._.trf_data stays None (listeners still get the output)."""


def trf_data_setter(docs: List[Doc], trf_data: FullTransformerBatch) -> None:
    """doc._.trf_data = the doc's TransformerData, with numpy (CPU) arrays."""
    for doc, data in zip(docs, trf_data.doc_data):
        doc._.trf_data = data


def configure_null_annotation_setter() -> Callable:
    return null_annotation_setter


def configure_trf_data_setter() -> Callable:
    return trf_data_setter
