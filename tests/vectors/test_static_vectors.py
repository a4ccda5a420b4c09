"""StaticVectors: a learned projection of the vocab's fixed vectors table."""
import numpy
import pytest
from thinc.api import Adam, Ragged, fix_random_seed, zero_init

from workbench.errors import ConfigError, ShapeError
from workbench.models.embed import MultiHashEmbed
from workbench.models.static_vectors import StaticVectors
from workbench.text.doc import Doc
from workbench.text.vocab import Vocab
from workbench.vectors.table import Vectors

WORDS = ["the", "cat", "sat", "dog"]


def make_vocab(seed: int = 0, width: int = 6) -> Vocab:
    vocab = Vocab()
    data = numpy.random.default_rng(seed).normal(size=(len(WORDS), width)).astype("float32")
    vocab.vectors = Vectors(data=data, keys=WORDS)
    return vocab


@pytest.fixture
def vocab():
    return make_vocab()


def docs_for(vocab):
    return [Doc(vocab, ["The", "cat", "sat", "quietly"]), Doc(vocab, ["dog"])]


def test_output_is_a_projection_with_zero_rows_for_oov(vocab):
    docs = docs_for(vocab)
    model = StaticVectors(nO=4)
    model.initialize(X=docs)
    assert model.get_dim("nM") == 6  # read from the docs' vocab
    Y = model.predict(docs)
    assert isinstance(Y, Ragged) and Y.data.shape == (5, 4) and Y.lengths.tolist() == [4, 1]
    W = model.get_param("W")
    table = vocab.vectors
    numpy.testing.assert_allclose(Y.data[0], W @ table["the"], rtol=1e-5, atol=1e-6)  # "The" -> LOWER "the"
    numpy.testing.assert_allclose(Y.data[4], W @ table["dog"], rtol=1e-5, atol=1e-6)
    assert not Y.data[3].any()  # "quietly" has no vector: zero row (no bias)
    assert model.param_names == ("W",) and W.shape == (4, 6)  # the table is not copied in


def test_init_W_is_configurable(vocab):
    model = StaticVectors(nO=3, init_W=zero_init)
    model.initialize(X=docs_for(vocab))
    assert model.get_param("W").shape == (3, 6) and not model.get_param("W").any()


def test_key_attr_orth_only_when_no_fallback(vocab):
    docs = docs_for(vocab)
    model = StaticVectors(nO=3, key_attr="NORM")
    model.initialize(X=docs)
    assert model.predict(docs).data[0].any()  # NORM of "The" is "the"
    with pytest.raises(ConfigError):
        StaticVectors(nO=3, key_attr="LEMMA")


def test_projection_learns_and_table_stays_bit_identical(vocab):
    fix_random_seed(0)
    docs = docs_for(vocab)
    table = vocab.vectors
    data_before = table.data.tobytes()
    model = StaticVectors(nO=4)
    model.initialize(X=docs)
    W_before = model.get_param("W").copy()
    Y, backprop = model.begin_update(docs)
    dY = numpy.ones_like(Y.data)
    assert backprop(Ragged(dY, Y.lengths)) == []  # no gradient for the docs
    V = table.get_batch([0, 1, 2, -1, 3])  # the, cat, sat, (quietly: none), dog
    numpy.testing.assert_allclose(model.get_grad("W"), dY.T @ V, rtol=1e-5, atol=1e-6)
    model.finish_update(Adam(0.01))
    assert not numpy.allclose(model.get_param("W"), W_before)
    assert vocab.vectors is table and table.data.tobytes() == data_before


def test_reads_the_vocab_table_at_call_time(vocab):
    docs = docs_for(vocab)
    model = StaticVectors(nO=4)
    model.initialize(X=docs)
    before = model.predict(docs).data.copy()
    vocab.vectors = make_vocab(seed=7).vectors  # same words and width, other values
    after = model.predict(docs).data
    assert not numpy.allclose(before, after)
    vocab.vectors = make_vocab(seed=7, width=5).vectors
    with pytest.raises(ShapeError, match="width 5.*width 6"):
        model.predict(docs)


def test_no_vectors_says_how_to_add_them():
    docs = [Doc(Vocab(), ["a", "cat"])]
    with pytest.raises(ConfigError) as err:
        StaticVectors(nO=4).initialize(X=docs)
    msg = str(err.value)
    assert "init vectors" in msg and "[initialize] vectors" in msg
    with pytest.raises(ConfigError, match="sample docs"):
        StaticVectors(nO=4).initialize()
    model = StaticVectors(nO=4, nM=6)
    model.initialize()
    with pytest.raises(ConfigError, match="init vectors"):
        model.predict(docs)


def test_dropout_drops_whole_tokens_only_in_training(vocab):
    docs = docs_for(vocab)
    model = StaticVectors(nO=4, dropout=1.0)
    model.initialize(X=docs)
    Y, backprop = model.begin_update(docs)
    assert not Y.data.any()
    backprop(Ragged(numpy.ones_like(Y.data), Y.lengths))
    assert not model.get_grad("W").any()
    assert model.predict(docs).data.any()


def test_empty_batch_and_empty_doc(vocab):
    model = StaticVectors(nO=4)
    model.initialize(X=docs_for(vocab))
    Y = model.predict([])
    assert Y.dataXd.shape == (0, 4)  # (Ragged.data of 0 rows reports width 0)
    Y = model.predict([Doc(vocab, []), Doc(vocab, ["cat"])])
    assert Y.data.shape == (1, 4) and Y.lengths.tolist() == [0, 1]


def test_multihashembed_with_static_vectors_trains_and_round_trips(vocab):
    fix_random_seed(0)
    docs = docs_for(vocab)
    model = MultiHashEmbed(width=8, rows=50, include_static_vectors=True)
    model.initialize(X=docs)
    static = next(n for n in model.walk() if n.name == "static_vectors")
    W_before = static.get_param("W").copy()
    Ys, backprop = model.begin_update(docs)
    assert [y.shape for y in Ys] == [(4, 8), (1, 8)]
    backprop([numpy.ones_like(y) for y in Ys])
    model.finish_update(Adam(0.01))
    assert not numpy.allclose(static.get_param("W"), W_before)
    loaded = MultiHashEmbed(width=8, rows=50, include_static_vectors=True).from_bytes(model.to_bytes())
    for a, b in zip(loaded.predict(docs), model.predict(docs)):
        numpy.testing.assert_allclose(a, b, rtol=1e-6)
