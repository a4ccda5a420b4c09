"""Character embedding: a word's first and last characters, each with its own table.

`CharacterEmbed` (alias `spacy.CharacterEmbed.v2`) concatenates, per token, a hash
embedding of one lexical attribute (NORM by default) with `nC` character vectors of
width `nM`, and mixes them to `width` with a Maxout + layer norm. Characters are the
UTF-8 bytes of the word: the first `nC // 2` and the last `nC - nC // 2`, padded with
zero bytes for short words, so each position keeps its meaning ("2nd byte",
"last byte"). Suffixes like -ing, -ly, -ed and capitals are seen whatever the word.

Three options, all off by default (the layer is then the one above): `attrs`, more hashed
lexical attributes (e.g. PREFIX, SUFFIX, SHAPE, as MultiHashEmbed's) in the concatenation,
each with its own table; `word_dropout`, the share of tokens whose `feature` is replaced by
one shared unknown-word key while training, so that rare and unseen words lean on their
characters and affixes, as they must at prediction; `ngrams`, a bag of the word's character
n-grams (lowercased, with boundary marks, as fastText's), hashed into `ngram_rows` rows and
averaged: a vector for any word, built from the pieces it shares with known words.
"""
from functools import lru_cache
from typing import Callable, List, Optional, Tuple, Union

import numpy
from thinc.api import HashEmbed, Model, Ragged, chain, concatenate
from thinc.types import Floats2d

from ..errors import ConfigError
from ..settings import Fraction, PositiveInt, checked
from ..text.doc import Doc
from ..text.strings import hash_string
from .combinators import RaggedToList, ragged_chain_forward, with_ragged_data
from .embed import _resolve_rows, _static_vectors_layer
from .encode import MaxoutNorm
from .featurize import FeatureIds, resolve_attrs

N_BYTES = 256  # rows of each position's table: one per byte value
UNKNOWN_KEY = numpy.uint64(0xFFFF_FFFF_FFFF_FFFF)  # the key word dropout gives a token's `feature`


@checked
def CharacterEmbed(
    width: PositiveInt = 128,
    rows: PositiveInt = 7000,
    nM: PositiveInt = 64,
    nC: PositiveInt = 8,
    include_static_vectors: bool = False,
    feature: str = "NORM",
    attrs: List[str] = [],  # noqa: B006
    attr_rows: Union[PositiveInt, List[PositiveInt]] = 2500,
    word_dropout: Fraction = 0.0,
    ngrams: List[PositiveInt] = [],  # noqa: B006
    ngram_rows: PositiveInt = 20000,
) -> Model[List[Doc], List[Floats2d]]:
    """Hash embedding of `feature` (rows x width) + nC characters (nM each), mixed to `width`.

    Output: one (n_tokens, width) array per doc. `attrs`: more hashed attributes, one
    (attr_rows x width) table each (attr_rows: one int, or one per attribute), concatenated
    too. `word_dropout`: while training, that share of tokens gets UNKNOWN_KEY for `feature`.
    `ngrams` (e.g. [3, 4, 5]): the mean of the word's hashed n-gram vectors (ngram_rows x width).
    With include_static_vectors the token's static vector, projected to `width`, joins.
    """
    cols = resolve_attrs([feature, *attrs], where="CharacterEmbed.feature/attrs")
    if len(set(cols)) < len(cols):
        raise ConfigError(f"CharacterEmbed: attrs {list(attrs)!r} repeat an attribute (feature is {feature!r}); "
                          f"name each attribute once.")
    sizes = [rows, *(_resolve_rows(attr_rows, cols[1:]) if attrs else [])]
    tables = [HashEmbed(width, n, column=i, seed=1 + a) for i, (a, n) in enumerate(zip(cols, sizes))]
    steps = [FeatureIds(cols)]
    if word_dropout:
        steps.append(WordDropout(word_dropout, column=0))
    steps.append(with_ragged_data(tables[0] if len(tables) == 1 else concatenate(*tables)))
    parts = [chain(*steps), CharacterTable(nM, nC)]  # Ragged (N, width * n_tables), Ragged (N, nC * nM)
    n_inputs = width * len(tables) + nM * nC
    if ngrams:
        parts.append(NgramBag(width, ngram_rows, tuple(sorted(set(ngrams)))))
        n_inputs += width
    if include_static_vectors:
        parts.append(_static_vectors_layer(width))
        n_inputs += width
    mix = with_ragged_data(MaxoutNorm(width, n_inputs, 3))  # Ragged (N, width)
    return Model(
        "character_embed",
        ragged_chain_forward,
        init=_init,
        layers=[concatenate(*parts), mix, RaggedToList()],
        dims={"nO": width},
        attrs={"feature": feature, "rows": rows, "nM": nM, "nC": nC, "include_static_vectors": include_static_vectors,
               "attrs": list(attrs), "attr_rows": sizes[1:], "word_dropout": word_dropout, "ngrams": list(ngrams),
               "ngram_rows": ngram_rows},
    )


def WordDropout(rate: float, column: int = 0) -> Model[Ragged, Ragged]:
    """Ragged uint64 (N, n_attrs) -> the same; while training, each row's `column` becomes
    UNKNOWN_KEY with probability `rate` (numpy's global random state: seeded by training)."""
    return Model("word_dropout", _word_dropout_forward, attrs={"word_dropout": rate, "column": column})


def _word_dropout_forward(model: Model, Xr: Ragged, is_train: bool) -> Tuple[Ragged, Callable]:
    rate = model.attrs["word_dropout"]
    if not is_train or not rate or not len(Xr.dataXd):
        return Xr, lambda dY: dY
    keys = model.ops.xp.array(Xr.dataXd, copy=True)  # (N, n_attrs) uint64
    dropped = model.ops.xp.asarray(numpy.random.random(len(keys)) < rate)
    keys[dropped, model.attrs["column"]] = UNKNOWN_KEY
    return Ragged(keys, Xr.lengths), lambda dY: dY


def _init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    model.layers[0].initialize(X=X)
    for layer in model.layers[1:]:
        layer.initialize()


def NgramBag(width: int, rows: int, ngrams: Tuple[int, ...]) -> Model[List[Doc], Ragged]:
    """List[Doc] -> Ragged (n_tokens_total, width): per token the mean of its n-grams' rows of E.

    Param E: (rows, width). A word's n-grams: those of "<" + lowercased word + ">" for each n
    in `ngrams` (the whole marked word when it is shorter), hashed (text.strings.hash_string) mod rows.
    """
    return Model("ngram_bag", _bag_forward, init=_bag_init, dims={"nO": width, "nV": rows},
                 params={"E": None}, attrs={"ngrams": ngrams})


def _bag_init(model: Model, X=None, Y=None) -> None:
    nV, nO = model.get_dim("nV"), model.get_dim("nO")
    scale = 1.0 / numpy.sqrt(nO)
    model.set_param("E", model.ops.xp.random.uniform(-scale, scale, (nV, nO)).astype("float32"))


def _bag_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    E = model.get_param("E")  # (nV, width)
    words = [word for doc in docs for word in doc.words]
    grams = tuple(model.attrs["ngrams"])  # a list once the model has been copied or loaded
    per_word = [_word_ngrams(word, grams, E.shape[0]) for word in words]
    counts = model.ops.asarray1i([len(ids) for ids in per_word])  # (N,)
    ids = model.ops.xp.asarray(numpy.concatenate(per_word) if per_word else numpy.zeros((0,), dtype="int32"))
    Y = model.ops.reduce_mean(E[ids], counts)  # (N, width)
    lengths = model.ops.asarray1i([len(doc) for doc in docs])

    def backprop(dY: Ragged) -> List:
        dE = model.ops.alloc2f(*E.shape)
        model.ops.scatter_add(dE, ids, model.ops.backprop_reduce_mean(model.ops.asarray2f(dY.dataXd), counts))
        model.inc_grad("E", dE)
        return []

    return Ragged(Y, lengths), backprop


@lru_cache(maxsize=100_000)
def _word_ngrams(word: str, ngrams: Tuple[int, ...], n_rows: int) -> numpy.ndarray:
    """int32 row ids of the word's marked n-grams (at least one: the whole marked word)."""
    marked = f"<{word.lower()}>"
    grams = [marked[i:i + n] for n in ngrams for i in range(len(marked) - n + 1)] or [marked]
    keys = numpy.asarray([hash_string(g) for g in grams], dtype="uint64")
    return (keys % numpy.uint64(n_rows)).astype("int32")


def CharacterTable(nM: int, nC: int) -> Model[List[Doc], Ragged]:
    """List[Doc] -> Ragged (n_tokens_total, nC * nM): each byte position's vector, concatenated.

    Param E: (nC, 256, nM), one table per position.
    """
    return Model("char_table", _table_forward, init=_table_init, dims={"nM": nM, "nC": nC, "nO": nM * nC},
                 params={"E": None})


def _table_init(model: Model, X=None, Y=None) -> None:
    nM, nC = model.get_dim("nM"), model.get_dim("nC")
    scale = 1.0 / numpy.sqrt(nM)
    E = model.ops.xp.random.uniform(-scale, scale, (nC, N_BYTES, nM)).astype("float32")
    model.set_param("E", E)


def _table_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    nM, nC = model.get_dim("nM"), model.get_dim("nC")
    E = model.get_param("E")  # (nC, 256, nM)
    ids = char_ids(docs, nC)  # (N, nC) uint8
    positions = numpy.arange(nC)[None, :]  # (1, nC)
    lengths = model.ops.asarray1i([len(doc) for doc in docs])
    Y = E[positions, ids].reshape((len(ids), nC * nM))  # (N, nC * nM)

    def backprop(dY: Ragged) -> List:
        rows = model.ops.asarray1i((positions * N_BYTES + ids).ravel())  # (N * nC,) rows of E as (nC * 256, nM)
        dE = model.ops.alloc2f(nC * N_BYTES, nM)
        model.ops.scatter_add(dE, rows, model.ops.reshape2f(dY.dataXd, len(ids) * nC, nM))
        model.inc_grad("E", model.ops.reshape3f(dE, nC, N_BYTES, nM))
        return []

    return Ragged(model.ops.asarray2f(Y), lengths), backprop


def char_ids(docs: List[Doc], nC: int) -> numpy.ndarray:
    """uint8 (n_tokens_total, nC): per token its first nC // 2 and last nC - nC // 2 UTF-8 bytes."""
    words = [word for doc in docs for word in doc.words]
    if not words:
        return numpy.zeros((0, nC), dtype="uint8")
    return numpy.stack([_word_bytes(word, nC) for word in words])


@lru_cache(maxsize=100_000)
def _word_bytes(word: str, nC: int) -> numpy.ndarray:
    data = word.encode("utf8")
    head, tail = nC // 2, nC - nC // 2
    out = numpy.zeros((nC,), dtype="uint8")
    first = data[:head]
    out[: len(first)] = numpy.frombuffer(first, dtype="uint8")
    last = data[-tail:] if len(data) >= tail else data
    out[nC - len(last):] = numpy.frombuffer(last, dtype="uint8")
    return out
