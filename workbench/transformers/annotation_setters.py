"""Annotation setters: `(docs, FullTransformerBatch) -> None`."""
from ..pipeline.transformer import null_annotation_setter, trf_data_setter

__all__ = ["null_annotation_setter", "trf_data_setter"]
