"""Token <-> wordpiece alignment, computed once from the fast tokenizer's char offsets.

The alignment of a doc is a thinc `Ragged`:
- `align.lengths[i]` = the number of wordpiece rows aligned to token i (0 when the
  tokenizer produced no piece for it: whitespace tokens, dropped control characters);
- `align.dataXd` (1-d; thinc stores `align.data` as an (n, 1) column) = those rows,
  token after token: indices into the doc's flattened
  output `(n_rows, width)` (every non-padding position of the doc's windows, window
  after window, special tokens included as rows but never aligned).

Invariants (tested with hypothesis):
- a wordpiece is aligned to every token whose characters it overlaps;
- within one window a token's rows are contiguous; over the doc they are increasing;
- special tokens ([CLS], [SEP], padding) are never aligned; every row < n_rows;
- a token in two overlapping windows has rows from both, so mean pooling averages
  the two windows' vectors (when the token has the same pieces in both).
"""
from typing import List, Sequence, Tuple

import numpy
from thinc.types import Ragged

from ...text.doc import Doc


def token_offsets(doc: Doc) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Char offsets (start, end) of each token in `doc.text`, int64 (n_tokens,) each."""
    lengths = numpy.fromiter((len(w) for w in doc.words), dtype=numpy.int64, count=len(doc))
    spaces = numpy.asarray(doc.spaces, dtype=numpy.int64)
    starts = numpy.zeros(len(doc), dtype=numpy.int64)
    if len(doc) > 1:
        numpy.cumsum((lengths + spaces)[:-1], out=starts[1:])
    return starts, starts + lengths


def align_window(
    tok_starts: numpy.ndarray, tok_ends: numpy.ndarray, offsets: numpy.ndarray, real: numpy.ndarray
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Pairs (token, position) for one window.

    tok_starts/tok_ends: (n_tokens,) token char offsets relative to the window text.
    offsets: (n_positions, 2) each wordpiece's char offsets in the window text.
    real: (n_positions,) bool, False for special tokens and padding.
    A zero-width piece counts as covering the character it points at.
    Returns int64 arrays (n_pairs,) `tokens` and `positions`, sorted by position.
    """
    tokens, positions, _ = align_windows([tok_starts], [tok_ends], offsets, real, numpy.asarray([len(real)]))
    return tokens, positions


def align_windows(
    tok_starts: Sequence[numpy.ndarray], tok_ends: Sequence[numpy.ndarray],
    offsets: numpy.ndarray, real: numpy.ndarray, lengths: numpy.ndarray,
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """`align_window` for many windows in one pass of array operations.

    tok_starts[k]/tok_ends[k]: window k's token char offsets (relative to its text).
    offsets: (n_positions_total, 2) piece offsets, windows one after another;
    real: (n_positions_total,) bool; lengths: (n_windows,) positions per window.
    Returns int64 (tokens, positions, pair_counts): tokens and positions relative to
    their window, window after window, and (n_windows,) the pairs of each window.
    """
    n_windows = len(lengths)
    lengths = numpy.asarray(lengths, dtype=numpy.int64)
    n_tok = numpy.fromiter((len(t) for t in tok_starts), dtype=numpy.int64, count=n_windows)
    pos = numpy.flatnonzero(real)
    if not len(pos) or not n_tok.sum():
        empty = numpy.zeros(0, dtype=numpy.int64)
        return empty, empty, numpy.zeros(n_windows, dtype=numpy.int64)
    # Lay the windows' texts end to end with a gap, so one sorted token array serves them all.
    ends = [t[-1] if len(t) else 0 for t in tok_ends]
    extent = numpy.maximum(numpy.asarray(ends, dtype=numpy.int64), offsets[:, 1].max(initial=0)) + 2
    shift = numpy.zeros(n_windows, dtype=numpy.int64)
    numpy.cumsum(extent[:-1], out=shift[1:])
    tok_shift = numpy.repeat(shift, n_tok)
    T_s = numpy.concatenate(tok_starts).astype(numpy.int64) + tok_shift
    T_e = numpy.concatenate(tok_ends).astype(numpy.int64) + tok_shift
    tok_base = numpy.zeros(n_windows, dtype=numpy.int64)
    numpy.cumsum(n_tok[:-1], out=tok_base[1:])
    pos_base = numpy.zeros(n_windows, dtype=numpy.int64)
    numpy.cumsum(lengths[:-1], out=pos_base[1:])
    win = numpy.repeat(numpy.arange(n_windows), lengths)[pos]  # window of each real piece
    s = offsets[pos, 0].astype(numpy.int64) + shift[win]
    e = numpy.maximum(offsets[pos, 1].astype(numpy.int64) + shift[win], s + 1)
    first = numpy.searchsorted(T_e, s, side="right")   # first token ending after s
    last = numpy.searchsorted(T_s, e, side="left") - 1  # last token starting before e
    count = numpy.maximum(last - first + 1, 0)
    total = int(count.sum())
    pair_win = numpy.repeat(win, count)
    positions = numpy.repeat(pos, count) - pos_base[pair_win]
    offsets_in_run = numpy.arange(total) - numpy.repeat(numpy.cumsum(count) - count, count)
    tokens = numpy.repeat(first, count) + offsets_in_run - tok_base[pair_win]
    return tokens, positions, numpy.bincount(pair_win, minlength=n_windows).astype(numpy.int64)


def doc_alignment(n_tokens: int, tokens: Sequence[numpy.ndarray], rows: Sequence[numpy.ndarray]) -> Ragged:
    """The doc's Ragged alignment from (token, row) pairs gathered over its windows.

    `tokens[k]`, `rows[k]`: the pairs of window k with rows already offset into the doc's
    flattened output. Rows of each token are sorted increasingly.
    """
    if tokens:
        tok = numpy.concatenate(tokens).astype(numpy.int64)
        row = numpy.concatenate(rows).astype(numpy.int64)
    else:
        tok = row = numpy.zeros(0, dtype=numpy.int64)
    order = numpy.lexsort((row, tok))
    lengths = numpy.bincount(tok, minlength=n_tokens).astype(numpy.int32)
    return Ragged(row[order].astype(numpy.int32), lengths)


def alignment_pairs(align: Ragged) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """(token index, row) int arrays, one pair per aligned wordpiece: for tables and plots."""
    lengths = numpy.asarray(align.lengths)
    tokens = numpy.repeat(numpy.arange(len(lengths)), lengths)
    return tokens, numpy.asarray(align.dataXd).reshape(-1)


def unaligned_tokens(align: Ragged) -> numpy.ndarray:
    """Indices of the tokens that no wordpiece covers."""
    return numpy.flatnonzero(numpy.asarray(align.lengths) == 0)


def windows_of_token(align: Ragged, row_window: numpy.ndarray) -> List[numpy.ndarray]:
    """For each token, the windows its rows come from (`row_window`: (n_rows,) window of each row)."""
    lengths = numpy.asarray(align.lengths)
    data = numpy.asarray(align.dataXd).reshape(-1)
    bounds = numpy.concatenate([[0], numpy.cumsum(lengths)])
    return [numpy.unique(row_window[data[bounds[i]:bounds[i + 1]]]) for i in range(len(lengths))]
