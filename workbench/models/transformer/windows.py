"""Windows: the spans of a batch measured in wordpieces, split to fit the model, packed.

`plan_windows` tokenizes each span (offsets on) and splits one with more wordpieces than
the model accepts into consecutive windows at token boundaries; only a single token
longer than the limit is truncated. `pack_windows` groups windows of similar length into
sub-batches of at most `max_batch_items` padded positions.
"""
import re
import warnings
from itertools import chain
from typing import Any, Dict, List, Optional, Tuple

import numpy

from ...errors import ConfigError
from ...text.doc import Doc
from .alignment import align_window, align_windows, token_offsets


class TruncationWarning(UserWarning):
    """A span was longer than the transformer accepts: it was split, or a token was truncated."""


class TextEncodingWarning(UserWarning):
    """A doc held text no tokenizer can encode (lone surrogates): U+FFFD was read instead."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable_text(doc: Doc, d: int) -> str:
    """`doc.text` with each lone surrogate (which UTF-8 cannot encode, so the tokenizer
    refuses it) replaced by U+FFFD, one code point for one, so character offsets hold;
    warns naming the doc (its index in the batch and its first characters)."""
    text = doc.text
    first = _SURROGATE.search(text)
    if first is None:
        return text
    clean, n = _SURROGATE.subn("\ufffd", text)
    warnings.warn(
        f"Doc {d} of the batch ({clean[:40]!r}) holds {n} lone surrogate(s) (first U+{ord(first.group()):04X} at "
        f"character {first.start()}), text UTF-8 cannot encode (often a file decoded with errors="
        f"'surrogateescape'): the transformer reads U+FFFD in their place. Fix the text's decoding to avoid this.",
        TextEncodingWarning, stacklevel=4,
    )
    return clean


class _Window:
    """One model input: tokens [start, end) of doc `doc`, from span-getter span `span`."""

    __slots__ = ("doc", "span", "start", "end", "ids", "real", "tokens", "positions")

    def __init__(self, doc, span, start, end, ids, real, tokens, positions):
        self.doc, self.span, self.start, self.end = doc, span, start, end
        self.ids, self.real, self.tokens, self.positions = ids, real, tokens, positions


def _encode(tokenizer: Any, texts: List[str], max_length: Optional[int] = None):
    kwargs = dict(add_special_tokens=True, return_offsets_mapping=True, return_special_tokens_mask=True,
                  return_attention_mask=False, return_token_type_ids=False,
                  verbose=False)  # we measure and report over-long spans ourselves
    if max_length is not None:
        kwargs.update(truncation=True, max_length=max_length)
    enc = tokenizer(texts, **kwargs)
    return enc["input_ids"], enc["offset_mapping"], enc["special_tokens_mask"]


def plan_windows(
    docs: List[Doc], spans: List[List[Any]], tokenizer: Any, max_length: int
) -> Tuple[List[_Window], List[Dict[str, Any]]]:
    """Tokenize the spans, split those over the limit at token boundaries; (windows, report)."""
    n_special = tokenizer.num_special_tokens_to_add(pair=False)
    limit = max_length - n_special
    if limit < 1:
        raise ConfigError(f"The transformer accepts {max_length} positions, no room after {n_special} special tokens.")
    offsets = [token_offsets(doc) for doc in docs]
    texts = [encodable_text(doc, d) for d, doc in enumerate(docs)]
    todo = [(d, j, sp.start, sp.end) for d, doc_spans in enumerate(spans)
            for j, sp in enumerate(doc_spans) if sp.end > sp.start]
    windows: List[_Window] = []
    report: Dict[Tuple[int, int], Dict[str, Any]] = {}
    while todo:
        span_texts = [texts[d][offsets[d][0][s]:offsets[d][1][e - 1]] for d, j, s, e in todo]
        all_ids, all_offs, all_special = _encode(tokenizer, span_texts)
        # Flatten the encodings: one array each over all spans, span after span.
        lengths = numpy.fromiter((len(x) for x in all_ids), dtype=numpy.int64, count=len(todo))
        bounds = numpy.concatenate([[0], numpy.cumsum(lengths)]).tolist()
        flat_ids = numpy.fromiter(chain.from_iterable(all_ids), dtype=numpy.int32, count=bounds[-1])
        flat_real = numpy.fromiter(chain.from_iterable(all_special), dtype=numpy.int8, count=bounds[-1]) == 0
        flat_offs = numpy.fromiter(chain.from_iterable(chain.from_iterable(all_offs)), dtype=numpy.int64,
                                   count=2 * bounds[-1]).reshape(-1, 2)
        real_before = numpy.concatenate([[0], numpy.cumsum(flat_real)])
        n_real = real_before[bounds[1:]] - real_before[bounds[:-1]]  # (n_spans,) pieces that are not special
        # per span: its tokens' char offsets relative to the span text
        rel_starts = [offsets[d][0][s:e] - offsets[d][0][s] for d, j, s, e in todo]
        rel_ends = [offsets[d][1][s:e] - offsets[d][0][s] for d, j, s, e in todo]
        tokens, positions, pairs = align_windows(rel_starts, rel_ends, flat_offs, flat_real, lengths)
        pair_bounds = numpy.concatenate([[0], numpy.cumsum(pairs)]).tolist()
        next_todo = []
        for k, (d, j, s, e) in enumerate(todo):
            a, b = bounds[k], bounds[k + 1]
            ids, real = flat_ids[a:b], flat_real[a:b]
            tok, posn = tokens[pair_bounds[k]:pair_bounds[k + 1]], positions[pair_bounds[k]:pair_bounds[k + 1]]
            if n_real[k] > limit:
                entry = report.setdefault((d, j), {
                    "doc": d, "span": j, "start": s, "end": e, "n_wordpieces": int(n_real[k]), "limit": limit,
                    "n_windows": 0, "dropped_wordpieces": 0, "truncated_tokens": [],
                })
                if e - s > 1:
                    next_todo.extend((d, j, a2, b2) for a2, b2 in _split_points(s, e, tok, posn, limit))
                    continue
                # a single token longer than the limit: the only case that loses wordpieces
                t_ids, t_offs, t_special = _encode(tokenizer, span_texts[k:k + 1], max_length=max_length)
                ids = numpy.asarray(t_ids[0], dtype=numpy.int32)
                real = numpy.asarray(t_special[0], dtype=bool) == 0
                offs = numpy.asarray(t_offs[0], dtype=numpy.int64).reshape(-1, 2)
                entry["dropped_wordpieces"] += int(n_real[k]) - int(real.sum())
                entry["truncated_tokens"].append(s)
                tok, posn = align_window(rel_starts[k], rel_ends[k], offs, real)
            windows.append(_Window(d, j, s, e, ids, real, tok + s, posn))
        todo = next_todo
    windows.sort(key=lambda w: (w.doc, w.span, w.start))
    for w in windows:
        if (w.doc, w.span) in report:
            report[(w.doc, w.span)]["n_windows"] += 1
    return windows, [report[key] for key in sorted(report)]


def _split_points(s: int, e: int, tokens: numpy.ndarray, positions: numpy.ndarray, limit: int) -> List[Tuple[int, int]]:
    """Cut tokens [s, e) into consecutive runs whose wordpieces fit `limit` (greedy)."""
    m = e - s
    first = numpy.full(m, -1, dtype=numpy.int64)
    last = numpy.full(m, -1, dtype=numpy.int64)
    if len(tokens):
        rel = tokens
        first_seen = numpy.full(m, numpy.iinfo(numpy.int64).max, dtype=numpy.int64)
        numpy.minimum.at(first_seen, rel, positions)
        numpy.maximum.at(last, rel, positions)
        first = numpy.where(last >= 0, first_seen, -1)
    cuts, win_start, win_first = [], 0, None
    for t in range(m):
        if last[t] < 0:
            continue
        if win_first is None:
            win_first = first[t]
        elif last[t] - win_first + 1 > limit and t > win_start:
            cuts.append(t)
            win_start, win_first = t, first[t]
    if not cuts:  # pieces not covered by tokens made the span long: halve it
        cuts = [m // 2]
    bounds = [0] + cuts + [m]
    return [(s + a, s + b) for a, b in zip(bounds, bounds[1:]) if b > a]


def pack_windows(lengths: numpy.ndarray, max_items: int, max_padding: float = 0.1) -> List[numpy.ndarray]:
    """Window indices per sub-batch, windows sorted by length.

    A sub-batch holds at most `max_items` padded positions (n_windows * longest; a longer
    single window runs alone). Once it holds `max_items // 16` positions it is also closed
    when the next window would make its padding exceed `max_padding` of its real positions:
    compute on CPU grows with padded positions, so similar lengths go together.
    """
    order = numpy.argsort(lengths, kind="stable")
    min_fill = max_items // 16
    batches, current, real = [], [], 0
    for k in order:
        L = int(lengths[k])
        if current:
            padded = (len(current) + 1) * L  # sorted: L is the longest so far
            wasteful = padded - (real + L) > max_padding * (real + L) and len(current) * L >= min_fill
            if padded > max_items or wasteful:
                batches.append(numpy.asarray(current))
                current, real = [], 0
        current.append(int(k))
        real += L
    if current:
        batches.append(numpy.asarray(current))
    return batches


def padded_size(lengths: numpy.ndarray, batches: List[numpy.ndarray]) -> int:
    """Positions run when each sub-batch is padded to its longest window."""
    return int(sum(len(b) * int(lengths[b].max()) for b in batches if len(b)))


def check_spans(docs: List[Doc], spans: Any) -> None:
    if not isinstance(spans, (list, tuple)) or len(spans) != len(docs):
        raise ConfigError(
            f"The span getter returned {type(spans).__name__} of length "
            f"{len(spans) if hasattr(spans, '__len__') else '?'} for {len(docs)} docs: it must return one "
            f"list of Spans per doc, in order."
        )
    for d, (doc, doc_spans) in enumerate(zip(docs, spans)):
        for sp in doc_spans:
            if getattr(sp, "doc", None) is not doc:
                raise ConfigError(
                    f"The span getter returned a span for doc {d} that belongs to another doc ({sp!r}): "
                    f"spans must be slices of their own doc, e.g. doc[start:end]."
                )


def warn_truncated(report: List[Dict[str, Any]]) -> None:
    split = sum(1 for r in report if r["n_windows"] > 1)
    cut = [r for r in report if r["truncated_tokens"]]
    dropped = sum(r["dropped_wordpieces"] for r in report)
    limit = report[0]["limit"]
    msg = (
        f"{len(report)} span(s) had more than {limit} wordpieces (the model's limit): "
        f"{split} were split at token boundaries into windows that fit the model"
    )
    if cut:
        msg += (
            f"; {sum(len(r['truncated_tokens']) for r in cut)} single token(s) were longer than the limit "
            f"and lost {dropped} wordpieces"
        )
    msg += ". See FullTransformerBatch.truncated / doc._.trf_data.truncated; use shorter spans to avoid this."
    warnings.warn(msg, TruncationWarning, stacklevel=3)
