"""Span getters: which stretches of each doc the transformer reads.

A span getter maps `List[Doc] -> List[List[Span]]` (one list of spans per doc,
in order; spans may overlap). Sizes here are in TOKENS, as users configure them.
The transformer layer then measures every span in wordpieces and splits a span
that is longer than the model accepts at token boundaries, reporting it
(see `workbench.models.transformer.model`).

The constructors (`doc_spans()`, `sent_spans()`, `strided_spans(...)`) return
the getter, so they can be registered and configured as
`@span_getters = "workbench.strided_spans.v1"` with `window` and `stride`.
"""
from typing import Callable, List

from ...errors import ConfigError
from ...settings import PositiveInt, checked
from ...text.doc import Doc, Span

SpanGetter = Callable[[List[Doc]], List[List[Span]]]


def doc_spans() -> SpanGetter:
    """Each doc as one span (empty docs give no span)."""

    def get_doc_spans(docs: List[Doc]) -> List[List[Span]]:
        return [[doc[0:len(doc)]] if len(doc) else [] for doc in docs]

    return get_doc_spans


def sent_spans() -> SpanGetter:
    """One span per sentence (`doc.sents`; a doc without boundaries is one sentence)."""

    def get_sent_spans(docs: List[Doc]) -> List[List[Span]]:
        return [list(doc.sents) for doc in docs]

    return get_sent_spans


@checked
def strided_spans(window: PositiveInt = 128, stride: PositiveInt = 96) -> SpanGetter:
    """Windows of `window` tokens starting every `stride` tokens.

    With stride < window consecutive windows overlap by `window - stride` tokens;
    the token vectors pooled over the alignment then average both windows. The
    last window ends at the doc's end; no token is left out.
    """
    if stride > window:
        raise ConfigError(
            f"strided_spans: stride = {stride!r} with window = {window}; stride must be between 1 and "
            f"window (a larger stride would skip tokens)."
        )

    def get_strided_spans(docs: List[Doc]) -> List[List[Span]]:
        out = []
        for doc in docs:
            n = len(doc)
            spans = []
            start = 0
            while start < n:
                end = min(start + window, n)
                spans.append(doc[start:end])
                if end == n:
                    break
                start += stride
            out.append(spans)
        return out

    return get_strided_spans


get_doc_spans = doc_spans()
get_sent_spans = sent_spans()
