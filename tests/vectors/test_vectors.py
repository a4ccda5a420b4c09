"""The Vectors table, vocab.vectors and the vector API of Token / Span / Doc."""
import json
import warnings

import numpy
import pytest

import workbench.vectors.table as vectors_module
from workbench.errors import ConfigError, DataError, ShapeError
from workbench.text.doc import Doc
from workbench.text.strings import StringStore, hash_string
from workbench.text.vocab import Vocab
from workbench.vectors.table import Vectors, VectorsWarning


def small_table():
    data = numpy.array([[1, 0, 0], [0, 1, 0], [0, 0, 2], [1, 1, 0]], dtype="float32")
    return Vectors(data=data, keys=["cat", "dog", "the", "pet"], name="tiny")


def brute_force(table, queries, n):
    X = table.data / numpy.maximum(numpy.linalg.norm(table.data, axis=1, keepdims=True), 1e-12)
    Q = queries / numpy.linalg.norm(queries, axis=1, keepdims=True)
    sims = Q @ X.T
    rows = numpy.argsort(-sims, axis=1, kind="stable")[:, :n]
    return rows, numpy.take_along_axis(sims, rows, axis=1)


# ------------------------------------------------------------------ the table


def test_table_lookups():
    table = small_table()
    assert table.shape == (4, 3) and len(table) == 4 and table.n_keys == 4 and table.width == 3
    assert "cat" in table and hash_string("dog") in table and "bird" not in table and None not in table
    numpy.testing.assert_array_equal(table["the"], [0, 0, 2])
    numpy.testing.assert_array_equal(table[hash_string("cat")], [1, 0, 0])
    rows = table.find(keys=["dog", "bird", hash_string("cat")])
    assert rows.dtype == numpy.int64 and rows.tolist() == [1, -1, 0]
    assert table.find(key="pet") == 3 and table.find(key="nope") == -1
    with pytest.raises(KeyError, match="bird"):
        table["bird"]
    # __getitem__ gives a copy: writing to it leaves the table alone
    v = table["cat"]
    v[:] = 9
    assert table["cat"][0] == 1


def test_get_batch_missing_rows_are_zero():
    table = small_table()
    batch = table.get_batch([2, -1, 0])
    assert batch.shape == (3, 3) and batch.dtype == numpy.float32
    numpy.testing.assert_array_equal(batch, [[0, 0, 2], [0, 0, 0], [1, 0, 0]])
    assert table.data[0].tolist() == [1, 0, 0]  # the zeroed row was a copy


def test_find_first_falls_back_column_by_column():
    table = small_table()
    k = hash_string
    keys = numpy.array([[k("The"), k("the")], [k("dog"), k("the")], [k("x"), k("y")]], dtype=numpy.uint64)
    assert table.find_first(keys).tolist() == [2, 1, -1]


def test_pruned_table_many_keys_one_row():
    data = numpy.array([[1, 0], [0, 1]], dtype="float32")
    table = Vectors(data=data, keys=["a", "b", "c", "d"], rows=[0, 1, 0, 0])
    assert table.shape == (2, 2) and table.n_keys == 4
    assert table.find(keys=["c", "d", "b"]).tolist() == [0, 0, 1]
    # each row is reported under its first key
    assert table.row_keys().tolist() == [hash_string("a"), hash_string("b")]
    with pytest.raises(ShapeError):
        Vectors(data=data, keys=["a", "b", "c"])  # more keys than rows without rows=
    with pytest.raises(ShapeError):
        Vectors(data=data, keys=["a"], rows=[5])


def test_add_keeps_shared_rows_intact():
    table = Vectors(data=numpy.eye(2, dtype="float32"), keys=["a", "b", "c"], rows=[0, 1, 0])
    assert table.add("c", vector=[5, 5]) == 2  # "c" shared row 0 with "a": it gets a new row
    assert table["a"].tolist() == [1, 0] and table["c"].tolist() == [5, 5] and table.shape == (3, 2)
    assert table.add("b", vector=[7, 7]) == 1  # "b" owns row 1: overwritten in place
    assert table["b"].tolist() == [7, 7] and table.shape == (3, 2)
    assert table.add("d", row=0) == 0 and table["d"].tolist() == [1, 0]
    assert table.add("e", vector=[2, 3]) == 3 and table.n_keys == 5
    with pytest.raises(ShapeError):
        table.add("f", vector=[1, 2, 3])
    with pytest.raises(IndexError):
        table.add("g", row=99)
    empty = Vectors()
    empty["x"] = [1.0, 2.0, 3.0]
    assert empty.shape == (1, 3) and empty["x"].tolist() == [1, 2, 3]


def test_bad_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="floret"):
        Vectors(mode="floret")


@pytest.mark.parametrize("n_rows,budget", [(500, None), (500, 200), (6000, None), (6000, 20000)])
def test_most_similar_matches_brute_force(monkeypatch, n_rows, budget):
    # 500 rows: whole rows are partitioned; 6000 rows: the block-maximum search is used
    if budget:  # a tiny score budget forces many small query batches
        monkeypatch.setattr(vectors_module, "_SCORE_BUDGET", budget)
    rng = numpy.random.default_rng(0)
    data = rng.normal(size=(n_rows, 16)).astype("float32")
    table = Vectors(data=data, keys=[f"w{i}" for i in range(n_rows)])
    queries = rng.normal(size=(37, 16)).astype("float32")
    keys, rows, scores = table.most_similar(queries, n=5, batch_size=7)
    assert keys.shape == rows.shape == scores.shape == (37, 5)
    want_rows, want_scores = brute_force(table, queries, 5)
    numpy.testing.assert_array_equal(rows, want_rows)
    numpy.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)
    assert keys[0, 0] == hash_string(f"w{rows[0, 0]}")
    # a table row as query finds itself first
    _, self_rows, self_scores = table.most_similar(data[[3, 99]], n=1)
    assert self_rows[:, 0].tolist() == [3, 99] and numpy.allclose(self_scores[:, 0], 1.0, atol=1e-5)
    _, many_rows, _ = table.most_similar(queries[:3], n=200)  # n near the number of blocks
    numpy.testing.assert_array_equal(many_rows, brute_force(table, queries[:3], 200)[0])


def test_most_similar_skips_rows_without_keys_and_checks_shapes():
    data = numpy.array([[1, 0], [0.9, 0.1], [0, 1]], dtype="float32")
    table = Vectors(data=data, keys=["a", "c"], rows=[0, 2])  # row 1 has no key
    keys, rows, scores = table.most_similar(numpy.array([[1, 0.1]], dtype="float32"), n=5)
    assert rows.tolist() == [[0, 2]] and keys.tolist() == [[hash_string("a"), hash_string("c")]]
    with pytest.raises(ShapeError, match="queries"):
        table.most_similar(numpy.zeros((2, 3), dtype="float32"))
    with pytest.raises(DataError, match="init vectors"):
        Vectors().most_similar(numpy.zeros((1, 0), dtype="float32"))


def test_prune_remaps_to_nearest_kept_row():
    rng = numpy.random.default_rng(1)
    data = rng.normal(size=(60, 8)).astype("float32")
    words = [f"w{i}" for i in range(60)]
    table = Vectors(data=data.copy(), keys=words)
    report = table.prune(10)
    assert table.shape == (10, 8) and table.n_keys == 60
    assert report["kept"] == 10 and report["remapped"] == 50 and report["n_rows"] == 10
    numpy.testing.assert_array_equal(table.data, data[:10])
    kept = data[:10] / numpy.linalg.norm(data[:10], axis=1, keepdims=True)
    sims = []
    for i in range(10, 60):
        q = data[i] / numpy.linalg.norm(data[i])
        best = int(numpy.argmax(kept @ q))
        assert table.find(key=f"w{i}") == best
        sims.append(float(kept[best] @ q))
    for i in range(10):
        assert table.find(key=f"w{i}") == i
    assert report["mean_similarity"] == pytest.approx(numpy.mean(sims), abs=1e-5)
    assert report["min_similarity"] == pytest.approx(min(sims), abs=1e-5)
    assert table.prune(50)["remapped"] == 0  # nothing left to prune
    with pytest.raises(ConfigError):
        table.prune(0)


def test_save_load_round_trip_plain_numpy(tmp_path):
    table = Vectors(
        strings=StringStore(), data=numpy.arange(6, dtype="float32").reshape(3, 2),
        keys=["a", "b", "c", "d"], rows=[0, 1, 2, 1], name="demo",
    )
    table.to_disk(tmp_path / "v")
    names = sorted(p.name for p in (tmp_path / "v").iterdir())
    assert names == ["keys.npy", "rows.npy", "strings.json", "vectors.json", "vectors.npy"]
    for name in ["keys.npy", "rows.npy", "vectors.npy"]:
        numpy.load(tmp_path / "v" / name, allow_pickle=False)  # plain arrays, no pickle
    meta = json.loads((tmp_path / "v" / "vectors.json").read_text())
    assert meta["width"] == 2 and meta["n_rows"] == 3 and meta["n_keys"] == 4
    assert meta["mode"] == "default" and meta["name"] == "demo"
    loaded = Vectors.load(tmp_path / "v")
    numpy.testing.assert_array_equal(loaded.data, table.data)
    numpy.testing.assert_array_equal(loaded.keys(), table.keys())
    numpy.testing.assert_array_equal(loaded.rows(), table.rows())
    assert loaded.name == "demo" and loaded.find(key="d") == 1
    assert sorted(loaded.strings) == ["a", "b", "c", "d"]


def test_from_disk_errors(tmp_path):
    with pytest.raises(DataError, match="vectors.json"):
        Vectors().from_disk(tmp_path / "missing")
    small_table().to_disk(tmp_path / "v")
    numpy.save(tmp_path / "v" / "rows.npy", numpy.array([0, 1, 2, 9]))
    with pytest.raises(DataError, match="outside"):
        Vectors().from_disk(tmp_path / "v")


# ------------------------------------------------------------------ the vocab


def test_vocab_holds_an_empty_table_by_default():
    vocab = Vocab()
    assert isinstance(vocab.vectors, Vectors) and vocab.vectors.shape == (0, 0)
    assert vocab.vectors.n_keys == 0 and len(vocab.vectors) == 0
    with pytest.raises(TypeError, match="Vectors"):
        vocab.vectors = numpy.zeros((2, 2))


def test_vocab_vectors_share_strings_and_round_trip(tmp_path):
    vocab = Vocab()
    vocab.vectors = small_table()
    assert vocab.vectors.strings is vocab.strings and "pet" in vocab.strings
    vocab.to_disk(tmp_path / "vocab")
    assert (tmp_path / "vocab" / "vectors" / "vectors.npy").exists()
    assert not (tmp_path / "vocab" / "vectors" / "strings.json").exists()  # words live in strings.json
    loaded = Vocab().from_disk(tmp_path / "vocab")
    numpy.testing.assert_array_equal(loaded.vectors.data, vocab.vectors.data)
    assert loaded.vectors.name == "tiny" and loaded.strings[int(loaded.vectors.row_keys()[3])] == "pet"
    Vocab().to_disk(tmp_path / "empty")
    assert not (tmp_path / "empty" / "vectors").exists()
    assert Vocab().from_disk(tmp_path / "empty").vectors.n_keys == 0


# ------------------------------------------------------------------ Token / Span / Doc


@pytest.fixture
def doc():
    vocab = Vocab()
    vocab.vectors = small_table()
    return Doc(vocab, ["The", "cat", "zzyzx", "dog"])


def test_token_vectors_and_oov(doc):
    the, cat, oov, dog = doc
    numpy.testing.assert_array_equal(the.vector, [0, 0, 2])  # "The" falls back to LOWER "the"
    assert cat.has_vector and not cat.is_oov and cat.vector_norm == pytest.approx(1.0)
    assert oov.is_oov and not oov.has_vector
    assert oov.vector.shape == (3,) and not oov.vector.any() and oov.vector_norm == 0.0


def test_span_and_doc_vectors_average_known_tokens(doc):
    numpy.testing.assert_allclose(doc.vector, numpy.mean([[0, 0, 2], [1, 0, 0], [0, 1, 0]], axis=0))
    numpy.testing.assert_allclose(doc[1:3].vector, [1, 0, 0])  # the OOV token is left out
    assert doc[1:3].has_vector and not doc[2:3].has_vector
    assert not doc[2:3].vector.any() and doc[2:3].vector.shape == (3,)
    assert doc.vector_norm == pytest.approx(float(numpy.linalg.norm(doc.vector)))


def test_similarity_is_cosine(doc):
    the, cat, _, dog = doc
    assert cat.similarity(dog) == pytest.approx(0.0)
    pet = Doc(doc.vocab, ["pet"])
    assert cat.similarity(pet) == pytest.approx(1 / numpy.sqrt(2), rel=1e-6)
    a, b = doc[0:2].vector, pet.vector
    want = float(a @ b / numpy.linalg.norm(a) / numpy.linalg.norm(b))
    assert doc[0:2].similarity(pet) == pytest.approx(want, rel=1e-6)
    assert pet.similarity(doc[0:2]) == pytest.approx(want, rel=1e-6)


def test_similarity_with_oov_warns_and_names_the_text(doc):
    with pytest.warns(VectorsWarning, match="zzyzx.*out of vocabulary"):
        assert doc[1].similarity(doc[2]) == 0.0
    with pytest.warns(VectorsWarning, match="zzyzx"):
        assert doc[2:3].similarity(doc) == 0.0
    empty_vocab_doc = Doc(Vocab(), ["cat"])
    with pytest.warns(VectorsWarning, match="init vectors"):
        assert empty_vocab_doc.similarity(empty_vocab_doc) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc[1].similarity(doc[3])  # both known: no warning


def test_vocab_most_similar_words(doc):
    vectors = doc.vocab.vectors
    keys, _, scores = vectors.most_similar(doc[1].vector[None, :], n=2)
    assert [doc.vocab.strings[int(k)] for k in keys[0]] == ["cat", "pet"]
    assert scores[0, 0] == pytest.approx(1.0)
