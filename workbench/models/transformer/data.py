"""The transformer's output data: `TransformerData` per doc, `FullTransformerBatch` per batch.

Layout (the one thing to know): a doc is read in WINDOWS (the spans of the span
getter, split where they exceed the model's limit). Every non-padding position of
every window is one ROW, window after window, special tokens ([CLS], [SEP])
included. All per-row arrays are FLATTENED: `tensors[-1]` is `(n_rows, width)`,
never padded, so `tensors[-1][align.dataXd]` are exactly the rows of the doc's tokens.
Attention weights are the exception (they are (L, L) per window): per layer an
array `(n_windows, heads, L, L)` padded to the doc's longest window.

The accessors (`token_vectors`, `span_vector`, `doc_vector`, `unaligned_tokens`,
`last_hidden_state`, `all_hidden_states`, `attentions`) are the stable API.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy
from thinc.api import NumpyOps, get_current_ops
from thinc.types import Ragged
from thinc.util import to_numpy

from ...errors import ShapeError

POOLINGS = ("mean", "sum", "max", "first", "last")


def _ops_for(array: Any):
    return NumpyOps() if isinstance(array, numpy.ndarray) else get_current_ops()


def _row_starts(lengths: numpy.ndarray) -> numpy.ndarray:
    starts = numpy.zeros(len(lengths) + 1, dtype=numpy.int64)
    numpy.cumsum(lengths, out=starts[1:])
    return starts


class WordpieceData:
    """The wordpieces of one doc's windows (special tokens included).

    input_ids: (n_windows, max_len) int32, padded with the pad id
    attention_mask: (n_windows, max_len) int8, 1 for real positions
    lengths: (n_windows,) int32: positions per window
    special_mask: (n_rows,) bool: rows that are special tokens
    strings: per window, the unpadded wordpiece strings. Give them, or give
      `id_strings` (the tokenizer's id -> string table, an object array) and they
      are looked up when first read.
    """

    def __init__(self, strings: Optional[List[List[str]]] = None, input_ids: Any = None,
                 attention_mask: Any = None, lengths: Any = None, special_mask: Any = None,
                 id_strings: Optional[numpy.ndarray] = None):
        if strings is None and id_strings is None:
            raise ShapeError("WordpieceData needs the wordpiece strings or the tokenizer's id_strings table.")
        self._strings = strings
        self.id_strings = id_strings
        self.input_ids = input_ids
        self.attention_mask = attention_mask
        self.lengths = lengths
        self.special_mask = special_mask

    @property
    def strings(self) -> List[List[str]]:
        if self._strings is None:
            ids = to_numpy(self.input_ids)
            self._strings = [self.id_strings[ids[k, :n]].tolist() for k, n in enumerate(to_numpy(self.lengths).tolist())]
        return self._strings

    def __repr__(self) -> str:
        return f"WordpieceData({len(self.lengths)} windows, {self.n_rows} rows)"

    @property
    def n_rows(self) -> int:
        return int(self.lengths.sum())

    @property
    def row_starts(self) -> numpy.ndarray:
        """(n_windows + 1,): window k owns rows row_starts[k]:row_starts[k+1]."""
        return _row_starts(self.lengths)

    @property
    def row_window(self) -> numpy.ndarray:
        """(n_rows,): the window each row belongs to."""
        return numpy.repeat(numpy.arange(len(self.lengths)), self.lengths)

    @property
    def flat_strings(self) -> List[str]:
        """(n_rows,) the wordpiece string of every row."""
        return [s for window in self.strings for s in window]


@dataclass
class TransformerData:
    """The transformer output for one doc. After annotation every array is numpy (CPU).

    - `tensors`: list of `(n_rows, width)` float32 arrays; `tensors[-1]` is the last
      hidden state. With `output_hidden_states` it holds every layer's output (the
      embedding output first), otherwise only the last one.
    - `align`: Ragged, rows per token (see `workbench.models.transformer.alignment`); `align.dataXd` is the
      1-d row array (thinc keeps `align.data` as a column (n, 1)).
    - `spans`: (n_windows, 2) token start/end of each window actually run;
      `span_sources`: (n_windows,) index of the span-getter span each came from.
    - `attentions`: None, or per layer `(n_windows, heads, L, L)` padded to the doc's longest window.
    - `truncated`: the truncation report entries of this doc (empty when nothing was split or cut).
    """

    wordpieces: WordpieceData
    tensors: List[Any]
    align: Ragged
    spans: numpy.ndarray
    span_sources: numpy.ndarray
    truncated: List[Dict[str, Any]] = field(default_factory=list)
    attentions: Optional[List[Any]] = None
    has_all_hidden_states: bool = False

    # -------------------------------------------------------------- accessors
    @property
    def last_hidden_state(self):
        """(n_rows, width) the last layer's output for every row."""
        return self.tensors[-1]

    @property
    def all_hidden_states(self) -> Optional[List[Any]]:
        """Every layer's (n_rows, width) output (embeddings first), or None if not requested."""
        return self.tensors if self.has_all_hidden_states else None

    @property
    def width(self) -> int:
        return int(self.tensors[-1].shape[1])

    @property
    def n_tokens(self) -> int:
        return len(self.align.lengths)

    @property
    def unaligned_tokens(self) -> numpy.ndarray:
        """Indices of the tokens no wordpiece covers: their token vectors are zeros."""
        return numpy.flatnonzero(to_numpy(self.align.lengths) == 0)

    def token_vectors(self, pooling: str = "mean", layer: int = -1):
        """(n_tokens, width): each token's wordpiece rows pooled ("mean", "sum", "max",
        "first", "last"). Tokens listed in `unaligned_tokens` get zeros. A token covered
        by two overlapping windows pools the rows of both (mean = average of the windows)."""
        if pooling not in POOLINGS:
            raise ShapeError(f"token_vectors: pooling = {pooling!r}; use one of {', '.join(POOLINGS)}.")
        X = self.tensors[layer]
        ops = _ops_for(X)
        rows = ops.asarray1i(self.align.dataXd)
        lengths = ops.xp.array(self.align.lengths, dtype="int32")  # a writable copy (thinc needs one)
        if not len(rows):
            return ops.alloc2f(len(lengths), X.shape[1])
        Xr = X[rows]
        if pooling == "mean":
            return ops.reduce_mean(Xr, lengths)
        if pooling == "sum":
            return ops.reduce_sum(Xr, lengths)
        out = ops.alloc2f(len(lengths), X.shape[1])
        has = lengths > 0
        if bool(has.any()):
            sub = ops.asarray1i(lengths[has])
            reduce = {"max": lambda a, b: ops.reduce_max(a, b)[0], "first": ops.reduce_first,
                      "last": ops.reduce_last}[pooling]
            res = reduce(Xr, sub)
            out[has] = res[0] if isinstance(res, tuple) else res
        return out

    def span_vector(self, start: int, end: int, pooling: str = "mean"):
        """(width,) the mean of the vectors of the aligned tokens in [start, end)
        (zeros when none is aligned)."""
        n = self.n_tokens
        if not 0 <= start <= end <= n:
            raise IndexError(f"span_vector({start}, {end}) is outside the doc's {n} tokens.")
        vectors = self.token_vectors(pooling)[start:end]
        aligned = to_numpy(self.align.lengths)[start:end] > 0
        ops = _ops_for(vectors)
        if not aligned.any():
            return ops.alloc1f(self.width)
        return vectors[ops.asarray(numpy.flatnonzero(aligned))].mean(axis=0)

    def doc_vector(self, pooling: str = "mean"):
        """(width,) the mean of the doc's aligned token vectors."""
        return self.span_vector(0, self.n_tokens, pooling)

    # -------------------------------------------------------------- conversion
    def to_cpu(self) -> "TransformerData":
        """A copy with every array in numpy (a no-op copy on CPU)."""
        return TransformerData(
            wordpieces=self.wordpieces,
            tensors=[to_numpy(t) for t in self.tensors],
            align=Ragged(to_numpy(self.align.dataXd), to_numpy(self.align.lengths)),
            spans=self.spans,
            span_sources=self.span_sources,
            truncated=self.truncated,
            attentions=None if self.attentions is None else [to_numpy(a) for a in self.attentions],
            has_all_hidden_states=self.has_all_hidden_states,
        )

    def to_dict(self) -> Dict[str, Any]:
        """Plain data (numpy arrays, lists, numbers): msgpack-able with srsly."""
        wp = self.wordpieces
        return {
            "strings": wp.strings,
            "input_ids": to_numpy(wp.input_ids),
            "attention_mask": to_numpy(wp.attention_mask),
            "lengths": to_numpy(wp.lengths),
            "special_mask": to_numpy(wp.special_mask),
            "tensors": [to_numpy(t) for t in self.tensors],
            "align_data": to_numpy(self.align.dataXd),
            "align_lengths": to_numpy(self.align.lengths),
            "spans": to_numpy(self.spans),
            "span_sources": to_numpy(self.span_sources),
            "truncated": [dict(r) for r in self.truncated],
            "attentions": None if self.attentions is None else [to_numpy(a) for a in self.attentions],
            "has_all_hidden_states": self.has_all_hidden_states,
        }

    @classmethod
    def from_dict(cls, msg: Dict[str, Any]) -> "TransformerData":
        wp = WordpieceData(
            strings=[list(s) for s in msg["strings"]],
            input_ids=numpy.array(msg["input_ids"]),
            attention_mask=numpy.array(msg["attention_mask"]),
            lengths=numpy.array(msg["lengths"]),
            special_mask=numpy.array(msg["special_mask"]),
        )
        return cls(
            wordpieces=wp,
            tensors=[numpy.array(t) for t in msg["tensors"]],
            align=Ragged(numpy.array(msg["align_data"]), numpy.array(msg["align_lengths"])),
            spans=numpy.array(msg["spans"]),
            span_sources=numpy.array(msg["span_sources"]),
            truncated=list(msg.get("truncated") or []),
            attentions=None if msg.get("attentions") is None else [numpy.array(a) for a in msg["attentions"]],
            has_all_hidden_states=bool(msg.get("has_all_hidden_states")),
        )


@dataclass
class FullTransformerBatch:
    """The transformer output for a batch of docs, flattened over all its windows.

    Rows of doc d are `doc_row_starts[d]:doc_row_starts[d+1]`; windows of doc d are
    `doc_window_starts[d]:doc_window_starts[d+1]`. Arrays marked (device) live on the
    model's device (numpy on CPU, cupy on GPU) and carry the gradient path in training.
    """

    last_hidden_state: Any                 # (n_rows, width) float32 (device)
    hidden_states: Optional[List[Any]]     # None or per layer (n_rows, width) (device), last == last_hidden_state
    attentions: Optional[List[List[Any]]]  # None or per layer, per window (heads, L_k, L_k) (device)
    input_ids: numpy.ndarray               # (n_rows,) int32
    special_mask: numpy.ndarray            # (n_rows,) bool
    id_strings: numpy.ndarray              # (vocab size,) object: the tokenizer's id -> wordpiece string
    window_doc: numpy.ndarray              # (n_windows,) doc index of each window
    window_spans: numpy.ndarray            # (n_windows, 2) token start/end
    window_sources: numpy.ndarray          # (n_windows,) span-getter span index within its doc
    window_lengths: numpy.ndarray          # (n_windows,) positions per window
    doc_row_starts: numpy.ndarray          # (n_docs + 1,)
    doc_window_starts: numpy.ndarray       # (n_docs + 1,)
    align: List[Ragged]                    # per doc, rows relative to the doc's first row (numpy)
    truncated: List[Dict[str, Any]]        # truncation report, one entry per span split or cut
    stats: Dict[str, int]                  # n_windows, n_subbatches, real_wordpieces, padded_wordpieces
    pad_id: int = 0
    _doc_data: Optional[List[TransformerData]] = field(default=None, repr=False)

    @property
    def strings(self) -> List[List[str]]:
        """Per window, its wordpiece strings (looked up on each call)."""
        bounds = _row_starts(self.window_lengths).tolist()
        pieces = self.id_strings[self.input_ids].tolist()
        return [pieces[a:b] for a, b in zip(bounds, bounds[1:])]

    @property
    def n_docs(self) -> int:
        return len(self.doc_row_starts) - 1

    @property
    def width(self) -> int:
        return int(self.last_hidden_state.shape[1])

    @property
    def padding_ratio(self) -> float:
        """padded / real wordpieces run through the model (1.0 = no padding)."""
        real = self.stats.get("real_wordpieces", 0)
        return self.stats.get("padded_wordpieces", 0) / real if real else 1.0

    def doc_rows(self, d: int):
        """(n_rows_d, width) view of doc d's last hidden state (device)."""
        return self.last_hidden_state[int(self.doc_row_starts[d]):int(self.doc_row_starts[d + 1])]

    def doc_layers(self, d: int) -> Optional[List[Any]]:
        """Per hidden state (embeddings first) a (n_rows_d, width) view of doc d, or None."""
        if self.hidden_states is None:
            return None
        r0, r1 = int(self.doc_row_starts[d]), int(self.doc_row_starts[d + 1])
        return [h[r0:r1] for h in self.hidden_states]

    def split_by_doc(self, to_cpu: bool = False) -> List[TransformerData]:
        """One TransformerData per doc. Arrays are views on the model's device unless `to_cpu`."""
        # to_cpu: copies, so a doc kept alone does not keep the whole batch's arrays alive
        conv = (lambda a: numpy.array(to_numpy(a))) if to_cpu else (lambda a: a)
        ops = NumpyOps() if to_cpu or isinstance(self.last_hidden_state, numpy.ndarray) else get_current_ops()
        out = []
        for d in range(self.n_docs):
            r0, r1 = int(self.doc_row_starts[d]), int(self.doc_row_starts[d + 1])
            w0, w1 = int(self.doc_window_starts[d]), int(self.doc_window_starts[d + 1])
            lengths = self.window_lengths[w0:w1].astype(numpy.int32)
            max_len = int(lengths.max()) if len(lengths) else 0
            ids = numpy.full((w1 - w0, max_len), self.pad_id, dtype=numpy.int32)
            mask = numpy.zeros((w1 - w0, max_len), dtype=numpy.int8)
            starts = _row_starts(lengths) + r0
            for k in range(w1 - w0):
                ids[k, :lengths[k]] = self.input_ids[starts[k]:starts[k + 1]]
                mask[k, :lengths[k]] = 1
            wp = WordpieceData(None, ids, mask, lengths, self.special_mask[r0:r1], id_strings=self.id_strings)
            layers = self.hidden_states if self.hidden_states is not None else [self.last_hidden_state]
            tensors = [conv(h[r0:r1]) for h in layers]
            attentions = None
            if self.attentions is not None:
                attentions = []
                for layer in self.attentions:
                    wins = layer[w0:w1]
                    heads = int(wins[0].shape[0]) if wins else 0
                    arr = _ops_for(wins[0]).alloc4f(w1 - w0, heads, max_len, max_len) if wins else numpy.zeros((0, 0, 0, 0), "f")
                    for k, a in enumerate(wins):
                        arr[k, :, :a.shape[1], :a.shape[2]] = a
                    attentions.append(conv(arr))
            align = self.align[d]
            if not to_cpu:
                align = Ragged(ops.asarray1i(align.dataXd), ops.asarray1i(align.lengths))
            out.append(TransformerData(
                wordpieces=wp,
                tensors=tensors,
                align=align,
                spans=self.window_spans[w0:w1],
                span_sources=self.window_sources[w0:w1],
                truncated=[r for r in self.truncated if r["doc"] == d],
                attentions=attentions,
                has_all_hidden_states=self.hidden_states is not None,
            ))
        return out

    @property
    def doc_data(self) -> List[TransformerData]:
        """Per-doc data with numpy (CPU) arrays, for annotation (computed once)."""
        if self._doc_data is None:
            self._doc_data = self.split_by_doc(to_cpu=True)
        return self._doc_data

    def flat_gradient(self, d_docs: Any, xp: Any = numpy):
        """(n_rows, width) gradient from a list of per-doc (n_rows_d, width) arrays (None = zeros),
        or a flat (n_rows, width) array. Per-doc (n_layers, n_rows_d, width) arrays (every
        hidden state, from a listener mixing layers) give (n_layers, n_rows, width)."""
        n_rows, width = self.last_hidden_state.shape
        if not isinstance(d_docs, (list, tuple)):
            if tuple(d_docs.shape) != (n_rows, width):
                raise ShapeError(f"Transformer backprop: gradient of shape {tuple(d_docs.shape)}, expected {(n_rows, width)}.")
            return d_docs
        if len(d_docs) != self.n_docs:
            raise ShapeError(f"Transformer backprop: {len(d_docs)} gradients for a batch of {self.n_docs} docs.")
        n_layers = max((g.shape[0] for g in d_docs if g is not None and g.ndim == 3), default=0)
        if n_layers and (self.hidden_states is None or n_layers != len(self.hidden_states)):
            have = 0 if self.hidden_states is None else len(self.hidden_states)
            raise ShapeError(f"Transformer backprop: gradients for {n_layers} hidden states, but the forward pass kept {have}.")
        out = xp.zeros((n_layers, n_rows, width) if n_layers else (n_rows, width), dtype="float32")
        for d, g in enumerate(d_docs):
            if g is None:
                continue
            r0, r1 = int(self.doc_row_starts[d]), int(self.doc_row_starts[d + 1])
            if tuple(g.shape[-2:]) != (r1 - r0, width):
                raise ShapeError(
                    f"Transformer backprop: the gradient for doc {d} has shape {tuple(g.shape)}; it must match "
                    f"that doc's output rows ({r1 - r0}, {width}) (TransformerData.tensors[-1])."
                )
            if n_layers and g.ndim == 2:  # the last layer's gradient only
                out[-1, r0:r1] += g
            else:
                out[..., r0:r1, :] = g
        return out
