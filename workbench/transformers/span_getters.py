"""Span getters: `List[Doc] -> List[List[Span]]`, ready to pass as `get_spans=`."""
from ..models.spans import doc_spans, sent_spans, strided_spans

get_doc_spans = doc_spans()
get_sent_spans = sent_spans()

__all__ = ["doc_spans", "get_doc_spans", "get_sent_spans", "sent_spans", "strided_spans"]
