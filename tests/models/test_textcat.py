"""Text classification architectures: hashed n-grams, pooling, the ensemble, the activations."""
import numpy
import pytest
from thinc.api import Adam

import workbench
from workbench import Doc
from workbench.models.textcat import TextCatBOW, TextCatEnsemble, TextCatReduce, ngram_keys
from workbench.models.tok2vec import HashEmbedCNN
from workbench.registry import registry


def docs_of(*texts):
    vocab = workbench.blank("en").vocab
    return [Doc(vocab, words=t.split()) for t in texts]


def cnn(width=16):
    return HashEmbedCNN(width=width, depth=1, embed_size=200, window_size=1, maxout_pieces=2, subword_features=False)


def test_spacy_names_are_aliases():
    assert registry.architectures.get("spacy.TextCatBOW.v3") is registry.architectures.get("workbench.TextCatBOW.v1")
    assert registry.architectures.get("spacy.TextCatReduce.v1") is registry.architectures.get("workbench.TextCatReduce.v1")
    assert registry.architectures.get("spacy.TextCatEnsemble.v2") is registry.architectures.get("workbench.TextCatEnsemble.v1")


def test_ngram_keys_stay_inside_each_doc():
    ops = TextCatBOW(exclusive_classes=True).ops
    docs = docs_of("a b c", "d e", "x a b", "b a")
    rows, counts = ngram_keys(docs, 2, 1000, 17, ops)
    assert counts.tolist() == [3 + 2, 2 + 1, 3 + 2, 2 + 1]  # unigrams + bigrams, none across docs
    assert rows.shape == (sum(counts), 2)  # two weight rows per n-gram
    per_doc = [set(map(tuple, r.tolist())) for r in numpy.split(rows, numpy.cumsum(counts)[:-1])]
    a, b = map(tuple, rows[:2].tolist())
    assert {a, b} <= per_doc[2]  # 'a', 'b' read the same rows in every doc
    ab = tuple(rows[3].tolist())  # the bigram 'a b' (unigrams come first)
    assert ab in per_doc[2] and ab not in per_doc[3]  # 'x a b' has it, 'b a' has not
    assert numpy.all((rows >= 0) & (rows < 1000)) and (rows[:, 0] != rows[:, 1]).any()
    upper = docs_of("The CAT")[0]
    lower = docs_of("the cat")[0]
    assert ngram_keys([upper], 2, 1000, 17, ops)[0].tolist() == ngram_keys([lower], 2, 1000, 17, ops)[0].tolist()


def test_bow_backprop_counts_repeated_words():
    model = TextCatBOW(exclusive_classes=True, length=64, nO=2)
    docs = docs_of("a a b")
    model.initialize(X=docs, Y=model.ops.alloc2f(1, 2))
    rows, _ = ngram_keys(docs, 1, 64, model.layers[0].attrs["seed"], model.ops)
    (a1, a2), (b1, b2) = rows[0].tolist(), rows[2].tolist()
    assert len({a1, a2, b1, b2}) == 4, "pick another length: the rows of 'a' and 'b' collide"
    W = model.layers[0].get_param("W")
    W[a1], W[a2] = [1.0, 0.0], [0.5, 0.0]
    W[b1] = [0.0, 3.0]
    Z, backprop = model.layers[0](docs, is_train=True)
    assert Z.tolist() == [[3.0, 3.0]]  # 'a' (1 + 0.5) twice, 'b' once
    backprop(model.ops.asarray2f([[1.0, -1.0]]))
    dW = model.layers[0].get_grad("W")
    assert dW[a1].tolist() == dW[a2].tolist() == [2.0, -2.0] and dW[b1].tolist() == dW[b2].tolist() == [1.0, -1.0]
    assert float(numpy.abs(dW).sum()) == 12.0
    assert model.layers[0].get_grad("b").tolist() == [1.0, -1.0]


def fit(model, docs, labels, steps=60):
    Y = model.ops.asarray2f(numpy.eye(2)[labels])
    model.initialize(X=docs, Y=Y)
    sgd = Adam(0.1)
    for _ in range(steps):
        probs, backprop = model(docs, is_train=True)
        backprop(probs - Y)
        model.finish_update(sgd)
    return model.predict(docs)


def test_bigrams_tell_word_order_apart_where_unigrams_cannot():
    docs = docs_of("not good but fine", "good but not fine")
    uni = fit(TextCatBOW(exclusive_classes=True, ngram_size=1, length=512), docs, [0, 1])
    assert uni[0].tolist() == pytest.approx(uni[1].tolist())  # the same bag of words
    bi = fit(TextCatBOW(exclusive_classes=True, ngram_size=2, length=512), docs, [0, 1])
    assert bi[0, 0] > 0.9 and bi[1, 1] > 0.9
    assert bi.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])  # softmax


def test_pooling_values_and_gradient():
    model = TextCatReduce(cnn(), exclusive_classes=False, use_reduce_first=True, use_reduce_last=True,
                          use_reduce_max=True, use_reduce_mean=True)
    docs = docs_of("a b c", "d e")
    model.initialize(X=docs, Y=model.ops.alloc2f(2, 3))
    tok2vec, pool, affine = model.layers[0].layers
    X = tok2vec.predict(docs)
    pooled, backprop = pool(X, is_train=True)
    assert pooled.shape == (2, 4 * 16)
    for i, x in enumerate(X):
        expected = numpy.concatenate([x[0], x[-1], x.max(axis=0), x.mean(axis=0)])
        assert pooled[i] == pytest.approx(expected, abs=1e-6)
    d = numpy.zeros_like(pooled)
    d[:, 3 * 16:] = 1.0  # the mean block only
    dX = backprop(d)
    assert dX[0] == pytest.approx(numpy.full((3, 16), 1 / 3)) and dX[1] == pytest.approx(numpy.full((2, 16), 1 / 2))
    probs = model.predict(docs)
    assert probs.shape == (2, 3) and probs == pytest.approx(numpy.full((2, 3), 0.5))  # sigmoid of zero weights


def test_ensemble_sums_the_logits_of_both_parts():
    linear = TextCatBOW(exclusive_classes=True, length=128)
    model = TextCatEnsemble(cnn(), linear)
    docs = docs_of("a b c", "d e")
    model.initialize(X=docs, Y=model.ops.alloc2f(2, 3))
    bow, pooled = model.layers[0].layers
    rng = numpy.random.default_rng(0)
    for layer in (bow, pooled.layers[2]):
        layer.set_param("W", rng.normal(size=layer.get_param("W").shape).astype("float32"))
    logits = bow.predict(docs) + pooled.predict(docs)
    expected = numpy.exp(logits) / numpy.exp(logits).sum(axis=1, keepdims=True)
    assert model.predict(docs) == pytest.approx(expected, abs=1e-5)
    assert model.attrs["exclusive_classes"] is True


def test_fitting_a_reduce_model():
    docs = docs_of("the food was great", "send me the report")
    probs = fit(TextCatReduce(cnn(), exclusive_classes=True), docs, [0, 1], steps=40)
    assert probs[0, 0] > 0.9 and probs[1, 1] > 0.9


def test_the_bow_table_is_saved_as_its_nonzero_rows():
    from workbench.models.weights_file import model_from_bytes, model_to_bytes

    docs = docs_of("good film", "bad film", "a good plot", "a bad plot")
    model = TextCatEnsemble(tok2vec=cnn(), linear_model=TextCatBOW(exclusive_classes=True, length=4096))
    fit(model, docs, [0, 1, 0, 1], steps=5)
    W = model.layers[0].layers[0].get_param("W")  # (4096, 2)
    touched = int(numpy.any(W != 0, axis=1).sum())
    assert 0 < touched <= 2 * 5  # two rows for each of the 5 words, the rest never moved
    sparse, dense = model_to_bytes(model), model.to_bytes()
    assert len(dense) - len(sparse) > 0.9 * W.nbytes  # the untouched rows are not written
    X = docs_of("a good film", "bad")
    for data in (sparse, dense):  # the dense form of model.to_bytes() loads as well
        copy = TextCatEnsemble(tok2vec=cnn(), linear_model=TextCatBOW(exclusive_classes=True, length=4096))
        copy.initialize(X=docs, Y=copy.ops.alloc2f(len(docs), 2))
        model_from_bytes(copy, data)
        numpy.testing.assert_array_equal(copy.layers[0].layers[0].get_param("W"), W)
        numpy.testing.assert_array_equal(copy.predict(X), model.predict(X))
