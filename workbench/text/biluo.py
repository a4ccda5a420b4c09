"""Convert between IOB (IOB1 or IOB2), BILUO tags and (start, end, label) spans.

Tags are strings like "B-PER", "I-PER", "L-PER", "U-PER" or "O". The tag "-"
marks a token whose annotation is missing; it passes through `iob_to_biluo`
unchanged and is outside every span.
"""
from typing import Iterable, List, Sequence, Tuple

from ..errors import DataError

SpanTuple = Tuple[int, int, str]


def _split(tag: str, i: int, allowed: str) -> Tuple[str, str]:
    if tag in ("O", "-"):
        return tag, ""
    if not isinstance(tag, str) or len(tag) < 3 or tag[1] != "-" or tag[0] not in allowed:
        kinds = "/".join(f"{c}-LABEL" for c in allowed)
        raise DataError(
            f"Token {i}: malformed entity tag {tag!r}. Expected 'O', '-' or {kinds}."
        )
    return tag[0], tag[2:]


def iob_to_biluo(tags: Sequence[str]) -> List[str]:
    """IOB1 or IOB2 tags -> BILUO tags. An I- tag not continuing its type starts an entity."""
    out: List[str] = []
    parsed = [_split(tag, i, "BI") for i, tag in enumerate(tags)]
    n = len(parsed)
    prev_label = None  # label of the entity open at the previous token
    for i, (kind, label) in enumerate(parsed):
        if kind in ("O", "-"):
            out.append(kind)
            prev_label = None
            continue
        begins = kind == "B" or label != prev_label
        nxt_kind, nxt_label = parsed[i + 1] if i + 1 < n else ("O", "")
        ends = not (nxt_kind == "I" and nxt_label == label)
        if begins:
            out.append(("U-" if ends else "B-") + label)
        else:
            out.append(("L-" if ends else "I-") + label)
        prev_label = None if ends else label
    return out


def biluo_to_iob(tags: Sequence[str]) -> List[str]:
    """BILUO tags -> IOB2 tags (validates the sequence first)."""
    biluo_to_spans(tags)
    out = []
    for tag in tags:
        if tag[:2] in ("U-", "B-"):
            out.append("B-" + tag[2:])
        elif tag[:2] in ("I-", "L-"):
            out.append("I-" + tag[2:])
        else:
            out.append(tag)
    return out


def biluo_to_spans(tags: Sequence[str]) -> List[SpanTuple]:
    """BILUO tags -> [(start, end_exclusive, label)]; malformed sequences raise DataError."""
    spans: List[SpanTuple] = []
    open_start, open_label = -1, ""
    for i, tag in enumerate(tags):
        kind, label = _split(tag, i, "BILU")
        if open_start >= 0 and (kind not in ("I", "L") or label != open_label):
            raise DataError(
                f"Token {i}: tag {tag!r} follows the entity opened at token {open_start} with "
                f"'B-{open_label}', which must be continued with 'I-{open_label}' or closed with "
                f"'L-{open_label}'."
            )
        if kind == "U":
            spans.append((i, i + 1, label))
        elif kind == "B":
            open_start, open_label = i, label
        elif kind in ("I", "L"):
            if open_start < 0:
                raise DataError(
                    f"Token {i}: tag {tag!r} has no opening 'B-{label}' before it. In BILUO an "
                    f"entity starts with B- (or is a single U- token)."
                )
            if kind == "L":
                spans.append((open_start, i + 1, label))
                open_start, open_label = -1, ""
    if open_start >= 0:
        raise DataError(
            f"Token {open_start}: entity 'B-{open_label}' is never closed with 'L-{open_label}' "
            f"before the end of the sequence ({len(tags)} tokens)."
        )
    return spans


def _span_tuple(span) -> SpanTuple:
    if isinstance(span, tuple):
        return span
    return (span.start, span.end, span.label_)


def spans_to_biluo(n: int, spans: Iterable) -> List[str]:
    """(start, end, label) tuples (or Spans) over `n` tokens -> BILUO tags; overlaps raise."""
    tags = ["O"] * n
    for start, end, label in sorted(_span_tuple(s) for s in spans):
        if not (0 <= start < end <= n):
            raise DataError(
                f"Span ({start}, {end}, {label!r}) is outside the {n} tokens or empty: "
                f"need 0 <= start < end <= {n}."
            )
        if not label:
            raise DataError(f"Span ({start}, {end}) has an empty label; every entity needs one.")
        for i in range(start, end):
            if tags[i] != "O":
                raise DataError(
                    f"Span ({start}, {end}, {label!r}) overlaps another entity at token {i} "
                    f"(tagged {tags[i]!r}). Entities must not overlap; drop or merge one of them."
                )
        if end - start == 1:
            tags[start] = "U-" + label
        else:
            tags[start] = "B-" + label
            for i in range(start + 1, end - 1):
                tags[i] = "I-" + label
            tags[end - 1] = "L-" + label
    return tags


def spans_to_iob(n: int, spans: Iterable) -> List[str]:
    """(start, end, label) tuples over `n` tokens -> IOB2 tags."""
    return biluo_to_iob(spans_to_biluo(n, spans))
