"""Tagger architecture (workbench/models/tagger.py)."""
from typing import List

import numpy
import pytest
from thinc.api import Adam, Model, fix_random_seed

from workbench.errors import ShapeError
from workbench.models import MaxoutWindowEncoder, MultiHashEmbed, Tagger, Tok2Vec
from workbench.text import Doc, Vocab

TRAIN = [
    # "duck" is a verb in one doc and a noun in another: only context tells them apart.
    (["I", "duck", "."], ["PRON", "VERB", "PUNCT"]),
    (["The", "duck", "swims", "."], ["DET", "NOUN", "VERB", "PUNCT"]),
    (["They", "eat", "green", "eggs"], ["PRON", "VERB", "ADJ", "NOUN"]),
]
LABELS = sorted({tag for _, tags in TRAIN for tag in tags})


def tok2vec(width=16, depth=1):
    return Tok2Vec(
        MultiHashEmbed(width=width, rows=[200, 50, 50, 50]),
        MaxoutWindowEncoder(width=width, depth=depth),
    )


def one_hot(tags: List[str]) -> numpy.ndarray:
    Y = numpy.zeros((len(tags), len(LABELS)), dtype="f")
    for i, tag in enumerate(tags):
        Y[i, LABELS.index(tag)] = 1.0
    return Y


@pytest.fixture
def docs():
    vocab = Vocab()
    return [Doc(vocab, words) for words, _ in TRAIN]


@pytest.fixture
def truths():
    return [one_hot(tags) for _, tags in TRAIN]


def test_tagger_infers_n_tags_from_y(docs, truths):
    model = Tagger(tok2vec(width=16))
    model.initialize(X=docs, Y=truths)
    assert model.get_dim("nO") == len(LABELS)
    assert model.get_ref("output_layer").get_dim("nI") == 16
    vocab = docs[0].vocab
    batch = docs + [Doc(vocab, []), Doc(vocab, ["eggs"])]
    Ys = model.predict(batch)
    assert [y.shape for y in Ys] == [(len(d), len(LABELS)) for d in batch]
    assert model.predict([]) == []


def test_tagger_with_explicit_n_o(docs):
    model = Tagger(tok2vec(), nO=7)
    model.initialize(X=docs)
    assert model.get_dim("nO") == 7
    assert [y.shape for y in model.predict(docs)] == [(len(d), 7) for d in docs]


def test_tagger_n_o_conflicting_with_labels(docs, truths):
    with pytest.raises(ShapeError, match="nO = 3"):
        Tagger(tok2vec(), nO=3).initialize(X=docs, Y=truths)


def test_tagger_without_n_o_or_labels(docs):
    with pytest.raises(ShapeError, match="nO"):
        Tagger(tok2vec()).initialize(X=docs)


def test_tagger_reads_width_from_a_listener_without_running_it(docs, truths):
    """A listener knows its width (dim nO) but has no outputs before its upstream runs."""

    def forward(model, docs, is_train):
        raise AssertionError("the listener must not be run during initialize")

    listener = Model("fake_listener", forward, dims={"nO": 24})
    model = Tagger(listener)
    assert model.get_ref("output_layer").get_dim("nI") == 24
    model.initialize(X=docs, Y=truths)
    assert model.get_ref("output_layer").get_param("W").shape == (len(LABELS), 24)


def test_tagger_reads_width_from_sample_output_when_dim_unset(docs, truths):
    def forward(model, docs, is_train):
        return [model.ops.alloc2f(len(d), 5) for d in docs], lambda dY: []

    model = Tagger(Model("no_width", forward, dims={"nO": None}))
    model.initialize(X=docs, Y=truths)
    assert model.get_ref("output_layer").get_dim("nI") == 5


def test_tagger_normalize(docs, truths):
    fix_random_seed(0)
    raw = Tagger(tok2vec(), normalize=False)
    raw.initialize(X=docs, Y=truths)
    # Move the zero-initialized output layer away from uniform scores.
    raw.get_ref("output_layer").set_param(
        "W", numpy.random.uniform(-1, 1, (len(LABELS), 16)).astype("f")
    )
    scores = numpy.concatenate(raw.predict(docs))
    probs, _ = raw.begin_update(docs)  # training output is always a softmax
    probs = numpy.concatenate(probs)
    numpy.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert not numpy.allclose(scores.sum(axis=1), 1.0)
    assert (scores.argmax(axis=1) == probs.argmax(axis=1)).all()
    raw.get_ref("output_layer").attrs["normalize"] = True
    numpy.testing.assert_allclose(numpy.concatenate(raw.predict(docs)), probs, rtol=1e-5)


def test_tagger_backprop_shapes_and_adam_step(docs, truths):
    model = Tagger(tok2vec())
    model.initialize(X=docs, Y=truths)
    W_before = model.get_ref("output_layer").get_param("W").copy()
    probs, backprop = model.begin_update(docs)
    d_docs = backprop([p - t for p, t in zip(probs, truths)])
    assert d_docs == []
    out = model.get_ref("output_layer")
    assert out.get_grad("W").shape == W_before.shape
    assert out.get_grad("b").shape == (len(LABELS),)
    model.finish_update(Adam(0.01))
    assert not numpy.array_equal(out.get_param("W"), W_before)


def test_tagger_overfits_three_docs(docs, truths):
    """Every token's gold tag gets probability > 0.9 within 200 Adam steps."""
    fix_random_seed(0)
    model = Tagger(tok2vec(width=32, depth=2))
    model.initialize(X=docs, Y=truths)
    optimizer = Adam(0.01)
    for step in range(200):
        probs, backprop = model.begin_update(docs)
        backprop([p - t for p, t in zip(probs, truths)])
        model.finish_update(optimizer)
        gold_probs = numpy.concatenate([(p * t).sum(axis=1) for p, t in zip(probs, truths)])
        if gold_probs.min() > 0.9:
            break
    else:
        pytest.fail(f"did not learn 3 docs in 200 steps (min gold prob {gold_probs.min():.2f})")
    guesses = [LABELS[i] for y in model.predict(docs) for i in y.argmax(axis=1)]
    assert guesses == [tag for _, tags in TRAIN for tag in tags]


def test_tagger_bytes_round_trip(docs, truths):
    fix_random_seed(0)
    model = Tagger(tok2vec())
    model.initialize(X=docs, Y=truths)
    probs, backprop = model.begin_update(docs)
    backprop([p - t for p, t in zip(probs, truths)])
    model.finish_update(Adam(0.01))
    loaded = Tagger(tok2vec(), nO=len(LABELS)).from_bytes(model.to_bytes())
    for a, b in zip(model.predict(docs), loaded.predict(docs)):
        numpy.testing.assert_array_equal(a, b)


def test_tagger_reinitialize_with_more_labels(docs, truths):
    model = Tagger(tok2vec())
    model.initialize(X=docs, Y=truths)
    wider = [numpy.hstack([t, numpy.zeros((len(t), 2), dtype="f")]) for t in truths]
    model.initialize(X=docs, Y=wider)
    assert model.get_dim("nO") == len(LABELS) + 2
    assert model.get_ref("output_layer") is model.layers[1]
    assert [y.shape[1] for y in model.predict(docs)] == [len(LABELS) + 2] * len(docs)
