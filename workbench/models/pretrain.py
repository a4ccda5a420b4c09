"""Pretraining objectives: what a tok2vec learns to predict from raw text.

An objective builds an output head on top of the embedding being pretrained
(`head(width, vocab)`: (N, width) -> (N, n_out)) and scores the head's output
against targets taken from the original (unmasked) docs (`get_loss(docs, Y)`).

- `PretrainCharacters`: the first and last `n_characters` characters of each word,
  one softmax over 256 character classes per position.
- `PretrainVectors`: the word's static vector from `vocab.vectors` (cosine or L2).
"""
from typing import Callable, Dict, List, Optional, Tuple

import numpy
from thinc.api import Linear, Model, chain, get_array_module, glorot_uniform_init, zero_init
from thinc.types import Floats2d, Ints1d

from ..errors import ConfigError
from ..settings import PositiveInt, checked
from ..text.attrs import LOWER, NORM, ORTH
from ..text.doc import Doc
from ..vectors.table import HOW_TO_ADD
from .combinators import to_doc_arrays
from .encode import MaxoutNorm

N_CHAR_CLASSES = 256  # class 0: no character (word shorter than the position); 1..255: codepoint % 255 + 1


class PretrainObjective:
    """Base: a head to put on the embedding, and a loss against the original docs."""

    name = "objective"

    def check(self, vocab) -> None:
        """Raise when the objective cannot work with this vocab (e.g. no vectors)."""

    def head(self, width: int, vocab) -> Model[Floats2d, Floats2d]:
        raise NotImplementedError

    def get_loss(self, docs: List[Doc], Y: Floats2d, rows: Optional[Ints1d] = None) -> Tuple[float, Floats2d, int]:
        """(mean loss per scored token, dY, number of tokens scored).

        Y: the head's output (n, n_out) for the tokens `rows` (indices into all tokens
        of `docs`, in order; None: every token)."""
        raise NotImplementedError


def _hidden(width: int, hidden_size: int, maxout_pieces: int) -> Model:
    return MaxoutNorm(hidden_size, width, maxout_pieces)  # (N, width) -> (N, hidden_size)


class CharacterObjective(PretrainObjective):
    """Predict each word's first and last `n_characters` characters."""

    name = "characters"

    def __init__(self, maxout_pieces: int, hidden_size: int, n_characters: int):
        self.maxout_pieces, self.hidden_size, self.n_characters = maxout_pieces, hidden_size, n_characters
        self.n_positions = 2 * n_characters
        self._cache: Dict[str, numpy.ndarray] = {}

    def head(self, width: int, vocab) -> Model[Floats2d, Floats2d]:
        out = Linear(self.n_positions * N_CHAR_CLASSES, self.hidden_size, init_W=zero_init)
        return chain(_hidden(width, self.hidden_size, self.maxout_pieces), out)

    def char_classes(self, word: str) -> numpy.ndarray:
        """int32 (2 * n_characters,): classes of word[:n], then of word[-1], word[-2], ..."""
        found = self._cache.get(word)
        if found is None:
            n = self.n_characters
            found = numpy.zeros((2 * n,), dtype="int32")
            for i, ch in enumerate(word[:n]):
                found[i] = ord(ch) % 255 + 1
            for i, ch in enumerate(reversed(word[-n:])):
                found[n + i] = ord(ch) % 255 + 1
            if len(self._cache) < 1_000_000:
                self._cache[word] = found
        return found

    def targets(self, docs: List[Doc]) -> numpy.ndarray:
        rows = [self.char_classes(w) for doc in docs for w in doc.words]
        if not rows:
            return numpy.zeros((0, self.n_positions), dtype="int32")
        return numpy.stack(rows)  # (N, n_positions)

    def get_loss(self, docs: List[Doc], Y: Floats2d, rows: Optional[Ints1d] = None) -> Tuple[float, Floats2d, int]:
        ops_xp = _xp(Y)
        n_tokens = Y.shape[0]
        if n_tokens == 0:
            return 0.0, Y, 0
        truth = self.targets(docs)  # (N, P)
        truth = ops_xp.asarray(truth if rows is None else truth[_np(rows)])  # (n, P)
        scores = Y.reshape((n_tokens, self.n_positions, N_CHAR_CLASSES))  # (N, P, C)
        scores = scores - scores.max(axis=2, keepdims=True)
        probs = ops_xp.exp(scores)
        probs /= probs.sum(axis=2, keepdims=True)
        rows = ops_xp.arange(n_tokens)[:, None]
        cols = ops_xp.arange(self.n_positions)[None, :]
        picked = probs[rows, cols, truth]  # (N, P)
        loss = float(-ops_xp.log(ops_xp.maximum(picked, 1e-12)).sum() / n_tokens)  # per token, summed over positions
        d = probs
        d[rows, cols, truth] -= 1.0
        d /= n_tokens
        return loss, d.reshape(Y.shape).astype("float32"), n_tokens


class VectorsObjective(PretrainObjective):
    """Predict each word's static vector (rows of `vocab.vectors`); words without one
    are not scored."""

    name = "vectors"
    KEY_ATTRS = (ORTH, LOWER, NORM)  # the same fallbacks as StaticVectors

    def __init__(self, maxout_pieces: int, hidden_size: int, loss: str):
        if str(loss).lower() not in ("cosine", "l2"):
            raise ConfigError(f"[pretraining.objective] loss = {loss!r}: use \"cosine\" or \"L2\".")
        self.maxout_pieces, self.hidden_size = maxout_pieces, hidden_size
        self.loss = str(loss).lower()

    def check(self, vocab) -> None:
        vectors = vocab.vectors
        if vectors.n_keys == 0 or vectors.width == 0:
            raise ConfigError(
                "The vectors objective (workbench.PretrainVectors.v1) predicts each word's static "
                "vector, but the pipeline's vocab has no vectors. Set [initialize] vectors = \"DIR\" "
                f"(or --paths.vectors DIR). {HOW_TO_ADD} Or use the characters objective."
            )

    def head(self, width: int, vocab) -> Model[Floats2d, Floats2d]:
        self.check(vocab)
        out = Linear(vocab.vectors.width, self.hidden_size, init_W=glorot_uniform_init)
        return chain(_hidden(width, self.hidden_size, self.maxout_pieces), out)

    def targets(self, docs: List[Doc]) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """(vectors (N, width) float32, scored (N,) bool: the word has a vector)."""
        if not docs:
            return numpy.zeros((0, 0), dtype="float32"), numpy.zeros((0,), dtype=bool)
        vocab = docs[0].vocab
        vectors = vocab.vectors
        lex_rows = numpy.concatenate([doc.lex_rows for doc in docs])  # lexemes first (table may grow)
        keys = vocab.attr_table[lex_rows][:, list(self.KEY_ATTRS)]
        rows = vectors.find_first(keys)  # (N,), -1: no vector
        return vectors.get_batch(rows), rows >= 0

    def get_loss(self, docs: List[Doc], Y: Floats2d, rows: Optional[Ints1d] = None) -> Tuple[float, Floats2d, int]:
        xp = _xp(Y)
        target, scored = self.targets(docs)
        if rows is not None:
            target, scored = target[_np(rows)], scored[_np(rows)]
        target, scored = xp.asarray(target), xp.asarray(scored)
        n = int(scored.sum())
        d = xp.zeros_like(Y)
        if n == 0:
            return 0.0, d, 0
        y, t = Y[scored], target[scored]  # (n, width)
        if self.loss == "l2":
            diff = y - t
            loss = float((diff ** 2).sum() / n)
            d[scored] = 2 * diff / n
        else:
            y_norm = xp.sqrt((y ** 2).sum(axis=1, keepdims=True)) + 1e-8
            t_norm = xp.sqrt((t ** 2).sum(axis=1, keepdims=True)) + 1e-8
            cos = (y * t).sum(axis=1, keepdims=True) / (y_norm * t_norm)  # (n, 1)
            loss = float((1.0 - cos).sum() / n)
            d[scored] = -(t / (y_norm * t_norm) - cos * y / (y_norm ** 2)) / n
        return loss, d.astype("float32"), n


def _xp(array):
    return get_array_module(array)


def _np(array) -> numpy.ndarray:
    return array if isinstance(array, numpy.ndarray) else array.get()  # cupy -> numpy


@checked
def PretrainCharacters(maxout_pieces: PositiveInt = 3, hidden_size: PositiveInt = 300, n_characters: PositiveInt = 4) -> PretrainObjective:
    """Predict the first and last `n_characters` characters of every word."""
    return CharacterObjective(maxout_pieces, hidden_size, n_characters)


@checked
def PretrainVectors(maxout_pieces: PositiveInt = 3, hidden_size: PositiveInt = 300, loss: str = "cosine") -> PretrainObjective:
    """Predict every word's static vector; loss "cosine" or "L2"."""
    return VectorsObjective(maxout_pieces, hidden_size, loss)


def PretrainModel(target: Model, head: Model) -> Model[Tuple[List[Doc], Optional[Ints1d]], Floats2d]:
    """(docs, rows) -> (len(rows), n_out): the target embeds every token of the docs,
    the head predicts for the tokens `rows` (indices over all tokens; None: all)."""
    return Model("pretrain_model", _forward, layers=[target, head], refs={"target": target, "head": head})


def _forward(model: Model, inputs, is_train: bool) -> Tuple[Floats2d, Callable]:
    docs, rows = inputs
    target, head = model.layers
    out, target_backprop = target(docs, is_train)
    arrays, to_target_grad = to_doc_arrays(out, docs)  # [(n_tokens, width)]
    xp = model.ops.xp
    X = xp.concatenate(arrays) if arrays else model.ops.alloc2f(0, 0)  # (N, width)
    Y, head_backprop = head(X if rows is None else X[rows], is_train)  # (n, n_out)
    lengths = [a.shape[0] for a in arrays]

    def backprop(dY: Floats2d):
        dX = head_backprop(dY)  # (n, width)
        if rows is not None:
            full = model.ops.alloc2f(*X.shape)
            full[rows] = dX
            dX = full  # (N, width): tokens not predicted get no gradient from the head
        offsets = numpy.cumsum([0] + lengths)
        d_arrays = [dX[offsets[i]:offsets[i + 1]] for i in range(len(lengths))]
        return target_backprop(to_target_grad(d_arrays))

    return Y, backprop
