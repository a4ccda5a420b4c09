"""Transformer output as plain data: the token <-> wordpiece alignment and attention
at wordpiece and word level (see `workbench.models.transformer.data` for the layout).

Each function takes a `TransformerData` (`doc._.trf_data`) or a Doc that has one.

Word-level attention (`word_attention`) merges wordpiece attention through the
alignment, window by window:
- FROM a word (rows): the MEAN of the rows of the word's pieces;
- TO a word (columns): the SUM of the columns of the word's pieces (default,
  `to="sum"`), so each word's row keeps the meaning "share of attention": it sums to
  1 minus what went to special tokens ([CLS], [SEP]), which is reported as
  `special_share`. `to="mean"` averages the columns instead.
- A token in two overlapping windows: the word matrix of each window is computed
  on its own and the results are AVERAGED over the windows that hold both tokens.
  Two tokens that share no window have no attention: NaN.
- Summaries: `head` and `layer` may be "mean" or "max" over heads / layers; the
  summary is taken on the wordpiece attention, before merging.
"""
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy

Select = Union[int, str]  # an index, "mean" or "max"
SUMMARIES = ("mean", "max")


def _data(obj: Any):
    """(TransformerData, token strings or None) from trf_data or a Doc."""
    if hasattr(obj, "wordpieces") and hasattr(obj, "align"):
        return obj, None
    ext = getattr(obj, "_", None)
    data = getattr(ext, "trf_data", None) if ext is not None else None
    if data is None:
        raise ValueError(
            "This doc has no transformer output (doc._.trf_data is None): run it through a pipeline with a "
            "transformer component and the default annotation setter (workbench.trf_data_setter.v1)."
        )
    return data, list(obj.words)


def _align_lists(data) -> List[numpy.ndarray]:
    lengths = numpy.asarray(data.align.lengths).astype(int)
    rows = numpy.asarray(data.align.dataXd).reshape(-1).astype(int)
    bounds = numpy.concatenate([[0], numpy.cumsum(lengths)])
    return [rows[bounds[i]:bounds[i + 1]] for i in range(len(lengths))]


# ------------------------------------------------------------------ alignment


def alignment_matrix(trf_data: Any, tokens: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The alignment as a (n_tokens, n_rows) 0/1 matrix, with what a plot needs to mark
    windows, special tokens, overlaps and truncation.

    Returns {"matrix", "tokens", "wordpieces", "row_window", "window_rows" [(start, end)],
    "window_tokens" [(start, end)], "special_rows", "overlap_tokens", "unaligned_tokens",
    "truncated_tokens", "truncated_rows", "n_windows", "report"}.
    """
    data, words = _data(trf_data)
    tokens = list(tokens) if tokens is not None else words
    wp = data.wordpieces
    n_rows = wp.n_rows
    per_token = _align_lists(data)
    n_tokens = len(per_token)
    matrix = numpy.zeros((n_tokens, n_rows), dtype=numpy.int8)
    for i, rows in enumerate(per_token):
        matrix[i, rows] = 1
    row_window = numpy.asarray(wp.row_window)
    starts = numpy.asarray(wp.row_starts)
    windows_per_token = [numpy.unique(row_window[rows]) for rows in per_token]
    truncated_tokens = sorted({int(t) for r in data.truncated for t in r.get("truncated_tokens", [])})
    truncated_rows = sorted({int(per_token[t][-1]) for t in truncated_tokens if t < n_tokens and len(per_token[t])})
    return {
        "matrix": matrix,
        "tokens": tokens if tokens is not None else [str(i) for i in range(n_tokens)],
        "wordpieces": list(wp.flat_strings),
        "row_window": row_window,
        "window_rows": [(int(starts[k]), int(starts[k + 1])) for k in range(len(wp.lengths))],
        "window_tokens": [(int(s), int(e)) for s, e in numpy.asarray(data.spans)],
        "special_rows": numpy.flatnonzero(numpy.asarray(wp.special_mask)),
        "overlap_tokens": [i for i, w in enumerate(windows_per_token) if len(w) > 1],
        "unaligned_tokens": [i for i, rows in enumerate(per_token) if not len(rows)],
        "truncated_tokens": truncated_tokens,
        "truncated_rows": truncated_rows,
        "n_windows": len(wp.lengths),
        "report": [dict(r) for r in data.truncated],
    }


# ------------------------------------------------------------------ attention


def n_layers_heads(trf_data: Any) -> tuple:
    """(layers, heads) of the kept attention; (0, 0) when attentions were not kept."""
    data, _ = _data(trf_data)
    if not data.attentions:
        return 0, 0
    return len(data.attentions), int(data.attentions[0].shape[1])


def _require_attentions(data) -> None:
    if not data.attentions:
        raise ValueError(
            "This doc's transformer output has no attention weights. Set output_attentions = true in the "
            "transformer's [components.NAME.model] block (the model is then run with eager attention)."
        )


def _pick(arr: numpy.ndarray, sel: Select, axis: int, what: str) -> numpy.ndarray:
    n = arr.shape[axis]
    if isinstance(sel, str):
        if sel not in SUMMARIES:
            raise ValueError(f"{what} = {sel!r}: use an index or one of {', '.join(SUMMARIES)}.")
        return arr.mean(axis=axis) if sel == "mean" else arr.max(axis=axis)
    if not -n <= int(sel) < n:
        raise IndexError(f"{what} {sel} is out of range: the model has {n} {what}s (0..{n - 1}).")
    return numpy.take(arr, int(sel), axis=axis)


def window_attention(trf_data: Any, layer: Select = -1, head: Select = 0) -> numpy.ndarray:
    """(n_windows, L, L) attention of one layer/head (or a summary), padded per window."""
    data, _ = _data(trf_data)
    _require_attentions(data)
    layers = numpy.stack([numpy.asarray(a, dtype=numpy.float32) for a in data.attentions])  # (layers, win, heads, L, L)
    per_layer = _pick(layers, layer, 0, "layer")  # (win, heads, L, L)
    return _pick(per_layer, head, 1, "head")       # (win, L, L)


def wordpiece_attention(trf_data: Any, layer: Select = -1, head: Select = 0,
                        window: Optional[int] = None) -> Dict[str, Any]:
    """Attention between wordpieces.

    window=None: the whole doc as a (n_rows, n_rows) matrix, block-diagonal by window
    (NaN between pieces of different windows, which never attend to each other);
    window=k: that window's (L_k, L_k) matrix. Returns {"matrix", "labels", "rows"
    (doc rows shown), "row_window", "special", "layer", "head", "window"}.
    """
    data, _ = _data(trf_data)
    att = window_attention(data, layer, head)
    wp = data.wordpieces
    starts, lengths = numpy.asarray(wp.row_starts), numpy.asarray(wp.lengths).astype(int)
    labels = list(wp.flat_strings)
    special = numpy.asarray(wp.special_mask).astype(bool)
    row_window = numpy.asarray(wp.row_window)
    if window is not None:
        k = int(window)
        if not 0 <= k < len(lengths):
            raise IndexError(f"window {k} is out of range: this doc has {len(lengths)} window(s).")
        n = lengths[k]
        rows = numpy.arange(starts[k], starts[k] + n)
        matrix = att[k, :n, :n].copy()
    else:
        rows = numpy.arange(wp.n_rows)
        matrix = numpy.full((wp.n_rows, wp.n_rows), numpy.nan, dtype=numpy.float32)
        for k, n in enumerate(lengths):
            s = starts[k]
            matrix[s:s + n, s:s + n] = att[k, :n, :n]
    return {
        "matrix": matrix,
        "labels": [labels[r] for r in rows],
        "rows": rows,
        "row_window": row_window[rows],
        "special": special[rows],
        "layer": layer,
        "head": head,
        "window": window,
    }


def word_attention(trf_data: Any, layer: Select = -1, head: Select = 0, *, to: str = "sum",
                   window: Optional[int] = None, tokens: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Attention between words (tokens), merged through the alignment (see the module
    docstring). window=k keeps only the tokens of window k.

    Returns {"matrix" (n, n) float32 with NaN where two tokens share no window,
    "tokens", "token_ids" (doc token indices shown), "special_share" (n,) attention each
    token gives to special tokens, "windows_shared" (n, n) how many windows were
    averaged, "layer", "head", "to", "window"}.
    """
    if to not in ("sum", "mean"):
        raise ValueError(f"to = {to!r}: use 'sum' (attention to a word = the sum over its pieces) or 'mean'.")
    data, words = _data(trf_data)
    tokens = list(tokens) if tokens is not None else words
    att = window_attention(data, layer, head)
    wp = data.wordpieces
    starts, lengths = numpy.asarray(wp.row_starts), numpy.asarray(wp.lengths).astype(int)
    special = numpy.asarray(wp.special_mask).astype(bool)
    per_token = _align_lists(data)
    n_tokens = len(per_token)
    total = numpy.zeros((n_tokens, n_tokens), dtype=numpy.float64)
    count = numpy.zeros((n_tokens, n_tokens), dtype=numpy.int32)
    special_sum = numpy.zeros(n_tokens, dtype=numpy.float64)
    special_count = numpy.zeros(n_tokens, dtype=numpy.int32)
    windows = range(len(lengths)) if window is None else [int(window)]
    for k in windows:
        s, n = int(starts[k]), int(lengths[k])
        A = att[k, :n, :n].astype(numpy.float64)  # (L_k, L_k)
        toks, cols = [], []
        for t, rows in enumerate(per_token):
            mine = rows[(rows >= s) & (rows < s + n)] - s
            if len(mine):
                toks.append(t)
                cols.append(mine)
        if not toks:
            continue
        P = numpy.zeros((len(toks), n))  # token <- positions
        for i, pos in enumerate(cols):
            P[i, pos] = 1.0
        P_from = P / P.sum(axis=1, keepdims=True)
        P_to = P if to == "sum" else P_from
        Wk = P_from @ A @ P_to.T  # (n_tok_k, n_tok_k)
        idx = numpy.asarray(toks)
        total[numpy.ix_(idx, idx)] += Wk
        count[numpy.ix_(idx, idx)] += 1
        spec = special[s:s + n]
        special_sum[idx] += (P_from @ A[:, spec]).sum(axis=1)
        special_count[idx] += 1
    with numpy.errstate(invalid="ignore", divide="ignore"):
        matrix = numpy.where(count > 0, total / numpy.maximum(count, 1), numpy.nan).astype(numpy.float32)
        special_share = numpy.where(special_count > 0, special_sum / numpy.maximum(special_count, 1), numpy.nan)
    if window is not None:
        s0, e0 = (int(x) for x in numpy.asarray(data.spans)[int(window)])
        keep = numpy.arange(s0, e0)
    else:
        keep = numpy.arange(n_tokens)
    names = tokens if tokens is not None else [str(i) for i in range(n_tokens)]
    return {
        "matrix": matrix[numpy.ix_(keep, keep)],
        "tokens": [names[i] for i in keep],
        "token_ids": keep,
        "special_share": special_share[keep].astype(numpy.float32),
        "windows_shared": count[numpy.ix_(keep, keep)],
        "layer": layer,
        "head": head,
        "to": to,
        "window": window,
    }


def head_summary(trf_data: Any, window: int = 0) -> Dict[str, Any]:
    """Per (layer, head) of one window: the mean entropy of the attention rows (low = focused)
    and the mean share of attention given to special tokens. Arrays (layers, heads)."""
    data, _ = _data(trf_data)
    _require_attentions(data)
    n = int(data.wordpieces.lengths[window])
    s = int(data.wordpieces.row_starts[window])
    spec = numpy.asarray(data.wordpieces.special_mask).astype(bool)[s:s + n]
    entropy, special = [], []
    for layer in data.attentions:
        A = numpy.asarray(layer[window], dtype=numpy.float64)[:, :n, :n]  # (heads, L, L)
        p = numpy.clip(A, 1e-12, 1.0)
        entropy.append((-(A * numpy.log(p)).sum(-1)).mean(-1))
        special.append(A[:, :, spec].sum(-1).mean(-1))
    return {"entropy": numpy.asarray(entropy), "special_share": numpy.asarray(special), "window": window}


def without_special(data: Dict[str, Any]) -> Dict[str, Any]:
    """Attention data (`word_attention` / `wordpiece_attention`) with the special pieces
    ([CLS], [SEP], padding) taken out and each row renormalized to sum to 1 over what
    is left, so one [CLS] column no longer sets the colour scale. Word-level rows
    already leave the specials out; they are renormalized the same way."""
    M = numpy.asarray(data["matrix"], dtype=numpy.float64)
    out = dict(data)
    if "special" in data:  # wordpiece level
        keep = ~numpy.asarray(data["special"], dtype=bool)
        M = M[numpy.ix_(keep, keep)]
        out["labels"] = [lab for lab, k in zip(data["labels"], keep) if k]
        out["rows"] = numpy.asarray(data["rows"])[keep]
        out["row_window"] = numpy.asarray(data["row_window"])[keep]
        out["special"] = numpy.zeros(int(keep.sum()), dtype=bool)
    with numpy.errstate(invalid="ignore", divide="ignore"):
        sums = numpy.nansum(M, axis=1, keepdims=True)
        M = numpy.where(sums > 0, M / numpy.where(sums > 0, sums, 1.0), M)
    out["matrix"] = M.astype(numpy.float32)
    out["special_hidden"] = True
    return out


def cell_values(data: Dict[str, Any], labels_key: str = "tokens") -> List[List[Optional[float]]]:
    """The matrix as nested lists (None where no window is shared), for hover tables."""
    M = numpy.asarray(data["matrix"], dtype=float)
    return [[None if not numpy.isfinite(v) else float(v) for v in row] for row in M]
