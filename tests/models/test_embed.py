"""Embedding, encoder and Tok2Vec architectures.

Covers workbench/models/{featurize,embed,encode,tok2vec}.py.
"""
import sys
import types
from typing import List

import numpy
import pytest
from confection import Config
from thinc.api import Adam, Model, fix_random_seed, registry

from workbench.errors import ConfigError
from workbench.models import (
    FeatureIds,
    HashEmbedCNN,
    MaxoutNorm,
    MaxoutWindowEncoder,
    MultiHashEmbed,
    MultiHashEmbedV1,
    Tok2Vec,
)
from workbench.text import Doc, Vocab

SENTS = [
    "The quick brown fox jumps over the lazy dog .",
    "Hello",
    "",
    "Prices rose 3.5 % in May , analysts said .",
    "I saw her duck",
]


@pytest.fixture
def vocab():
    return Vocab()


@pytest.fixture
def docs(vocab) -> List[Doc]:
    # Includes a one-token doc and an empty doc.
    return [Doc(vocab, s.split()) for s in SENTS]


def small_tok2vec(width=16, depth=2, window_size=1):
    embed = MultiHashEmbed(width=width, rows=[300, 100, 100, 100])
    encode = MaxoutWindowEncoder(width=width, depth=depth, window_size=window_size)
    return Tok2Vec(embed, encode)


def total_tokens(docs):
    return sum(len(doc) for doc in docs)


# --- featurize ----------------------------------------------------------------------


def test_feature_ids_one_array_for_batch(docs):
    Xr = FeatureIds(["NORM", "shape"]).predict(docs)
    expected = numpy.concatenate([doc.to_array(["NORM", "SHAPE"]) for doc in docs])
    assert Xr.data.dtype == numpy.uint64
    assert Xr.data.shape == (total_tokens(docs), 2)
    assert Xr.lengths.tolist() == [len(doc) for doc in docs]
    numpy.testing.assert_array_equal(Xr.data, expected)


def test_feature_ids_docs_from_different_vocabs():
    docs = [Doc(Vocab(), ["Hello", "world"]), Doc(Vocab(), ["world"])]
    Xr = FeatureIds(["ORTH", "SUFFIX"]).predict(docs)
    expected = numpy.concatenate([doc.to_array(["ORTH", "SUFFIX"]) for doc in docs])
    numpy.testing.assert_array_equal(Xr.data, expected)
    # Hashes are stable, so "world" gets the same ids in both vocabs.
    numpy.testing.assert_array_equal(Xr.data[1], Xr.data[2])


def test_feature_ids_empty_batch():
    Xr = FeatureIds(["NORM"]).predict([])
    assert Xr.dataXd.shape == (0, 1) and len(Xr.lengths) == 0


# --- MultiHashEmbed -------------------------------------------------------------------


def test_multihashembed_shapes(docs):
    model = MultiHashEmbed(width=24, rows=500)
    model.initialize(X=docs)
    Ys = model.predict(docs)
    assert model.get_dim("nO") == 24
    assert [y.shape for y in Ys] == [(len(doc), 24) for doc in docs]
    assert all(y.dtype == numpy.float32 for y in Ys)
    assert model.predict([]) == []


def test_multihashembed_defaults_and_v1_arguments(docs):
    model = MultiHashEmbed()
    assert model.get_dim("nO") == 96
    assert model.attrs["attrs"] == ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
    assert model.attrs["rows"] == [5000, 1000, 2500, 2500]
    # The spec's v1 form: width, an int for rows, also_embed_subwords.
    v1 = MultiHashEmbedV1(
        width=32, rows=700, also_embed_subwords=False, also_use_static_vectors=False
    )
    assert v1.attrs["attrs"] == ["NORM"] and v1.attrs["rows"] == [700]
    v1.initialize()
    assert [y.shape for y in v1.predict(docs)] == [(len(d), 32) for d in docs]
    # also_embed_subwords=False with the default rows list keeps NORM's row count.
    assert MultiHashEmbedV1(also_embed_subwords=False).attrs["rows"] == [5000]


def test_multihashembed_unknown_attr_lists_valid_names():
    with pytest.raises(ConfigError) as err:
        MultiHashEmbed(attrs=["NORM", "LEMMA"], rows=100)
    msg = str(err.value)
    assert "LEMMA" in msg and "attrs" in msg
    for name in ["ORTH", "LOWER", "NORM", "PREFIX", "SUFFIX", "SHAPE"]:
        assert name in msg


def test_multihashembed_rows_length_mismatch_names_both_lengths():
    with pytest.raises(ConfigError) as err:
        MultiHashEmbed(attrs=["NORM", "PREFIX", "SUFFIX"], rows=[100, 200])
    msg = str(err.value)
    assert "'rows' has 2" in msg and "'attrs' has 3" in msg


@pytest.mark.parametrize("rows", [0, [100, -1, 5, 5], [100, 2.5, 5, 5]])
def test_multihashembed_bad_row_counts(rows):
    with pytest.raises(ConfigError, match="rows"):
        MultiHashEmbed(rows=rows)


def test_multihashembed_versions_are_separate_functions():
    """spacy.MultiHashEmbed.v1 takes the first form's settings; v2 (our v1) the later ones."""
    from workbench.registry import registry

    assert registry.architectures.get("spacy.MultiHashEmbed.v1") is MultiHashEmbedV1
    assert registry.architectures.get("spacy.MultiHashEmbed.v2") is MultiHashEmbed
    assert registry.architectures.get("workbench.MultiHashEmbed.v1") is MultiHashEmbed
    with pytest.raises(TypeError, match="also_embed_subwords"):
        MultiHashEmbed(also_embed_subwords=False)


@pytest.mark.parametrize("flag", ["include_static_vectors", "also_use_static_vectors"])
def test_static_vectors_missing_module_says_how_to_fix(monkeypatch, flag):
    # None in sys.modules makes the import fail as if the module did not exist.
    monkeypatch.setitem(sys.modules, "workbench.models.static_vectors", None)
    build = MultiHashEmbed if flag == "include_static_vectors" else MultiHashEmbedV1
    with pytest.raises(ConfigError) as err:
        build(**{flag: True})
    assert "init vectors" in str(err.value) and "Remove" in str(err.value)


def test_static_vectors_seam_uses_static_vectors_module(monkeypatch, docs):
    """With a StaticVectors(nO) layer available, its output joins the hash tables."""
    calls = []

    def StaticVectors(nO: int) -> Model:
        calls.append(nO)

        def forward(model, docs, is_train):
            Ys = [model.ops.alloc2f(len(doc), nO) + 1.0 for doc in docs]
            return Ys, lambda dYs: []

        return Model("fake_static_vectors", forward, dims={"nO": nO})

    module = types.ModuleType("workbench.models.static_vectors")
    module.StaticVectors = StaticVectors
    monkeypatch.setitem(sys.modules, "workbench.models.static_vectors", module)
    model = MultiHashEmbedV1(width=8, rows=50, also_use_static_vectors=True)
    model.initialize(X=docs)
    assert calls == [8] and model.attrs["include_static_vectors"] is True
    Ys, backprop = model.begin_update(docs)
    assert [y.shape for y in Ys] == [(len(d), 8) for d in docs]
    backprop([numpy.ones_like(y) for y in Ys])


def test_embed_backprop_updates_tables(docs):
    fix_random_seed(0)
    model = MultiHashEmbed(width=8, rows=50)
    model.initialize()
    before = {id(n): n.get_param("E").copy() for n in model.walk() if n.name == "hashembed"}
    assert len(before) == 4
    Ys, backprop = model.begin_update(docs)
    backprop([numpy.ones_like(y) for y in Ys])
    model.finish_update(Adam(0.01))
    for node in model.walk():
        if node.name == "hashembed":
            assert not numpy.array_equal(node.get_param("E"), before[id(node)])


# --- MaxoutNorm ---------------------------------------------------------------------


def test_maxout_norm_gradients_match_finite_differences():
    numpy.random.seed(1)
    model = MaxoutNorm(nO=4, nI=6, nP=3)
    model.initialize()
    for name in ("W", "b", "G", "B"):
        param = model.get_param(name).astype("float64")
        model.set_param(name, param + numpy.random.uniform(-0.3, 0.3, param.shape))
    X = numpy.random.uniform(-1, 1, (5, 6))
    R = numpy.random.uniform(-1, 1, (5, 4))  # loss = sum(Y * R)

    def loss(X_):
        return float((model.predict(X_) * R).sum())

    Y, backprop = model.begin_update(X)
    dX = backprop(R)
    numeric = numpy.zeros_like(X)
    eps = 1e-6
    for idx in numpy.ndindex(*X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[idx] += eps
        Xm[idx] -= eps
        numeric[idx] = (loss(Xp) - loss(Xm)) / (2 * eps)
    numpy.testing.assert_allclose(dX, numeric, rtol=1e-4, atol=1e-6)
    # Parameter gradient for W, checked the same way.
    dW = model.get_grad("W").copy()
    W = model.get_param("W")
    for idx in [(0, 0, 0), (1, 2, 3), (3, 1, 5)]:
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        model.set_param("W", Wp)
        up = loss(X)
        model.set_param("W", Wm)
        down = loss(X)
        model.set_param("W", W)
        assert dW[idx] == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-6)


def test_maxout_norm_output_is_normalized():
    model = MaxoutNorm(nO=10, nI=7)
    model.initialize()
    Y = model.predict(numpy.random.uniform(-1, 1, (20, 7)).astype("f"))
    numpy.testing.assert_allclose(Y.mean(axis=1), 0.0, atol=1e-5)
    numpy.testing.assert_allclose(Y.std(axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize("nP", [1, 2, 3])
def test_maxout_norm_prediction_matches_the_training_path(nP):
    # Prediction takes its own, cheaper route (pieces outermost, no argmax kept):
    # the same values as a training forward without dropout.
    numpy.random.seed(2)
    model = MaxoutNorm(nO=12, nI=30, nP=nP)
    model.initialize()
    model.set_param("b", numpy.random.uniform(-1, 1, (12, nP)).astype("f"))
    model.set_param("G", numpy.random.uniform(0.5, 1.5, 12).astype("f"))
    model.set_param("B", numpy.random.uniform(-1, 1, 12).astype("f"))
    X = numpy.random.uniform(-1, 1, (50, 30)).astype("f")
    Y_train, _ = model(X, is_train=True)
    Y = model.predict(X)
    assert Y.shape == (50, 12) and Y.dtype == numpy.float32
    numpy.testing.assert_allclose(Y, Y_train, rtol=1e-5, atol=1e-5)
    with pytest.raises(Exception, match="is_train=False"):
        model(X, is_train=False)[1](Y)


def test_multihashembed_prediction_through_projected_tables(vocab):
    # A batch with more tokens than the tables have rows goes through the projected
    # tables (one gather-add per token); a small one through the layers. Both give the
    # training path's values (float noise only).
    from workbench.models.embed import _predict_projected

    numpy.random.seed(3)
    words = [f"w{i}" for i in range(400)] + ["The", "Dog", "3.5", "%", "jumped"]
    big = [Doc(vocab, [words[j] for j in numpy.random.randint(0, len(words), 60)]) for _ in range(40)]
    for model in (MultiHashEmbed(width=16, rows=[300, 100, 100, 100]),
                  MultiHashEmbedV1(width=16, rows=300, also_embed_subwords=False)):
        model.initialize()
        assert _predict_projected(model, big) is not None  # 2400 tokens, <= 600 rows
        assert _predict_projected(model, big[:2]) is None  # 120 tokens: the layers
        for batch in (big, big[:2]):
            Y_train, _ = model(batch, is_train=True)
            Y = model.predict(batch)
            assert [y.shape for y in Y] == [(len(d), 16) for d in batch]
            for y, y_train in zip(Y, Y_train):
                numpy.testing.assert_allclose(y, y_train, rtol=1e-4, atol=1e-4)


# --- MaxoutWindowEncoder --------------------------------------------------------------


def test_encoder_shapes_and_empty_inputs():
    model = MaxoutWindowEncoder(width=12, depth=3)
    model.initialize()
    Xs = [numpy.random.uniform(-1, 1, (n, 12)).astype("f") for n in (5, 1, 0, 9)]
    Ys, backprop = model.begin_update(Xs)
    assert [y.shape for y in Ys] == [x.shape for x in Xs]
    dXs = backprop([numpy.ones_like(y) for y in Ys])
    assert [dx.shape for dx in dXs] == [x.shape for x in Xs]
    assert model.predict([]) == []
    Ys, backprop = model.begin_update([])
    assert Ys == [] and backprop([]) == []


@pytest.mark.parametrize("window_size", [1, 2])
def test_encoder_windows_stay_inside_each_doc(window_size):
    numpy.random.seed(0)
    model = MaxoutWindowEncoder(width=8, depth=3, window_size=window_size)
    model.initialize()
    Xs = [numpy.random.uniform(-1, 1, (n, 8)).astype("f") for n in (4, 1, 0, 7, 2)]
    together = model.predict(Xs)
    for X, Y in zip(Xs, together):
        numpy.testing.assert_allclose(model.predict([X])[0], Y, rtol=1e-5, atol=1e-5)
    # And the gradient of one doc does not flow into its neighbours.
    _, backprop = model.begin_update(Xs)
    dYs = [numpy.zeros_like(y) for y in together]
    dYs[3][0] = 1.0  # first token of the 4th doc
    dXs = backprop(dYs)
    for i, dX in enumerate(dXs):
        if i != 3:
            assert not dX.any()
    assert dXs[3].any()


def test_encoder_receptive_field():
    """Token 0's output depends on tokens up to depth * window_size away, no further."""
    model = MaxoutWindowEncoder(width=8, depth=2, window_size=1)
    model.initialize()
    X = numpy.random.uniform(-1, 1, (6, 8)).astype("f")
    base = model.predict([X])[0][0]
    for j, should_change in [(2, True), (3, False), (5, False)]:
        X2 = X.copy()
        X2[j] += 1.0
        changed = not numpy.allclose(model.predict([X2])[0][0], base)
        assert changed == should_change, j


def test_encoder_config_errors():
    with pytest.raises(ConfigError, match="width"):
        MaxoutWindowEncoder(width=0)
    with pytest.raises(ConfigError, match="window_size"):
        MaxoutWindowEncoder(window_size=-1)


# --- Tok2Vec / HashEmbedCNN ---------------------------------------------------------


def test_tok2vec_dims_refs_and_shapes(docs):
    model = small_tok2vec(width=16)
    assert model.get_dim("nO") == 16
    assert model.get_ref("embed").name == "multi_hash_embed"
    assert model.get_ref("encode").name == "maxout_window_encoder"
    model.initialize(X=docs[:2])
    Ys, backprop = model.begin_update(docs)
    assert [y.shape for y in Ys] == [(len(d), 16) for d in docs]
    assert backprop([numpy.ones_like(y) for y in Ys]) == []
    assert model.predict([]) == []
    Ys, backprop = model.begin_update([docs[2], docs[2]])  # only empty docs
    assert [y.shape for y in Ys] == [(0, 16), (0, 16)]
    assert backprop(Ys) == []


def test_tok2vec_width_mismatch_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        Tok2Vec(MultiHashEmbed(width=64), MaxoutWindowEncoder(width=96))
    assert "64" in str(err.value) and "96" in str(err.value)


def test_tok2vec_is_deterministic(vocab, docs):
    fix_random_seed(3)
    a = small_tok2vec()
    a.initialize()
    fix_random_seed(3)
    b = small_tok2vec()
    b.initialize()
    Ya, Ya2, Yb = a.predict(docs), a.predict(docs), b.predict(docs)
    for x, y, z in zip(Ya, Ya2, Yb):
        numpy.testing.assert_array_equal(x, y)
        numpy.testing.assert_array_equal(x, z)
    # Hashing features does not depend on the vocab's insertion order.
    fresh = [Doc(Vocab(), doc.words) for doc in reversed(docs)][::-1]
    for x, y in zip(Ya, a.predict(fresh)):
        numpy.testing.assert_array_equal(x, y)


def test_tok2vec_doc_alone_equals_doc_in_batch(docs):
    model = small_tok2vec(depth=3)
    model.initialize()
    together = model.predict(docs)
    for doc, Y in zip(docs, together):
        numpy.testing.assert_allclose(model.predict([doc])[0], Y, rtol=1e-5, atol=1e-5)


def test_tok2vec_adam_step_changes_every_parameter(docs):
    fix_random_seed(0)
    model = small_tok2vec()
    model.initialize()
    before = {
        (node.id, name): node.get_param(name).copy()
        for node in model.walk()
        for name in node.param_names
    }
    assert len(before) == 4 + 4 + 4 * 2  # 4 tables, mixing Maxout, 2 encoder blocks
    Ys, backprop = model.begin_update(docs)
    backprop([numpy.random.uniform(-1, 1, y.shape).astype("f") for y in Ys])
    model.finish_update(Adam(0.001))
    for node in model.walk():
        for name in node.param_names:
            after = node.get_param(name)
            assert not numpy.array_equal(after, before[(node.id, name)]), (node.name, name)


def test_hash_embed_cnn(docs):
    model = HashEmbedCNN(width=32, depth=2, embed_size=300)
    assert model.get_dim("nO") == 32
    assert model.get_ref("embed").attrs["rows"] == [300, 150, 150, 150]
    model.initialize()
    assert [y.shape for y in model.predict(docs)] == [(len(d), 32) for d in docs]
    norm_only = HashEmbedCNN(width=8, depth=1, embed_size=100, subword_features=False)
    assert norm_only.get_ref("embed").attrs["attrs"] == ["NORM"]


def test_signatures_fill_and_validate_with_confection(docs):
    """Defaults come from the signatures and the annotations validate under confection."""
    registry.layers("test_models_embed.MultiHashEmbed.v1", func=MultiHashEmbed)
    registry.layers("test_models_embed.MaxoutWindowEncoder.v1", func=MaxoutWindowEncoder)
    registry.layers("test_models_embed.Tok2Vec.v1", func=Tok2Vec)
    cfg = Config().from_str(
        """
        [model]
        @layers = "test_models_embed.Tok2Vec.v1"

        [model.embed]
        @layers = "test_models_embed.MultiHashEmbed.v1"
        width = 24
        rows = 700
        include_static_vectors = false

        [model.encode]
        @layers = "test_models_embed.MaxoutWindowEncoder.v1"
        width = ${model.embed.width}
        """
    )
    filled = registry.fill(cfg)
    assert filled["model"]["encode"]["depth"] == 4
    assert filled["model"]["embed"]["attrs"] == ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
    model = registry.resolve(cfg)["model"]
    assert model.get_dim("nO") == 24
    bad = Config().from_str(
        """
        [model]
        @layers = "test_models_embed.MaxoutWindowEncoder.v1"
        depth = "deep"
        """
    )
    with pytest.raises(Exception, match="depth"):
        registry.resolve(bad)


def test_tok2vec_bytes_round_trip_and_copy(docs):
    fix_random_seed(0)
    model = small_tok2vec()
    model.initialize()
    Ys, backprop = model.begin_update(docs)  # move the weights off their initial values
    backprop([numpy.ones_like(y) for y in Ys])
    model.finish_update(Adam(0.01))
    expected = model.predict(docs)
    fix_random_seed(1)
    loaded = small_tok2vec().from_bytes(model.to_bytes())
    for a, b in zip(expected, loaded.predict(docs)):
        numpy.testing.assert_array_equal(a, b)
    copied = model.copy()  # independent weights, same function
    for a, b in zip(expected, copied.predict(docs)):
        numpy.testing.assert_array_equal(a, b)
