import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from workbench.errors import ConfigError, DataError
from workbench.text.attrs import ATTR_NAMES, LOWER, ORTH, SHAPE, attr_id
from workbench.text.strings import StringStore, hash_string
from workbench.text.vocab import Vocab, word_shape


def test_hash_is_blake2b_8_little_endian():
    expected = int.from_bytes(hashlib.blake2b("apple".encode("utf8"), digest_size=8).digest(), "little")
    assert hash_string("apple") == expected
    assert hash_string("") == 0
    assert 0 <= hash_string("ünïcode ✓") < 2**64


def test_hash_stable_across_processes():
    words = ["apple", "Apple", "ünïcode", "😀"]
    code = (
        "from workbench.text.strings import StringStore; s = StringStore(); "
        f"print([s.add(w) for w in {words!r}])"
    )
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=root)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == str([StringStore().add(w) for w in words])


def test_string_store_two_way():
    store = StringStore(["a", "b"])
    key = store.add("hello")
    assert store["hello"] == key and store[key] == "hello"
    assert store.add("hello") == key
    assert "hello" in store and key in store and "nope" not in store
    assert len(store) == 3 and store.to_list() == ["a", "b", "hello"]
    assert list(store) == ["a", "b", "hello"]
    # looking up an unknown string gives its hash without adding it
    assert store["unseen"] == hash_string("unseen") and "unseen" not in store
    assert store[0] == ""


def test_string_store_unknown_hash_message():
    with pytest.raises(KeyError, match="not in this StringStore"):
        StringStore()[12345]


@pytest.mark.parametrize(
    "text,shape",
    [("Hello", "Xxxxx"), ("apple", "xxxx"), ("42", "dd"), ("1999", "dddd"), ("123456", "dddd"),
     ("C3PO", "XdXX"), ("U.S.", "X.X."), ("e-mail", "x-xxxx"), ("", "")],
)
def test_word_shape(text, shape):
    assert word_shape(text) == shape


def test_lexeme_strings_and_hashes():
    vocab = Vocab()
    lex = vocab["Hello"]
    assert (lex.orth_, lex.lower_, lex.norm_, lex.prefix_, lex.suffix_, lex.shape_) == (
        "Hello", "hello", "hello", "H", "llo", "Xxxxx")
    assert lex.orth == vocab.strings["Hello"] and vocab.strings[lex.shape] == "Xxxxx"
    assert vocab.strings[lex.suffix] == "llo" and vocab.strings[lex.prefix] == "H"
    assert vocab["n't"].norm_ == "not"
    assert vocab["ab"].suffix_ == "ab"


@pytest.mark.parametrize(
    "text,flags",
    [
        ("Hello", {"is_alpha", "is_title"}),
        ("the", {"is_alpha", "is_lower", "is_stop"}),
        ("The", {"is_alpha", "is_title", "is_stop"}),
        ("NASA", {"is_alpha", "is_upper"}),
        ("42", {"is_digit", "like_num"}),
        ("1,000.50", {"like_num"}),
        ("-3", {"like_num"}),
        ("1/2", {"like_num"}),
        ("ten", {"is_alpha", "is_lower", "like_num"}),
        (",", {"is_punct"}),
        ("...", {"is_punct"}),
        ("\n", {"is_space"}),
        ("$", {"is_currency"}),
        ("€", {"is_currency"}),
        ("http://example.com/a", {"like_url", "is_lower"}),
        ("www.example.org", {"like_url", "is_lower"}),
        ("example.com", {"like_url", "is_lower"}),
        ("jo.smith@example.co.uk", {"like_email", "is_lower"}),
    ],
)
def test_lexeme_flags(text, flags):
    names = ["is_alpha", "is_digit", "is_lower", "is_upper", "is_title", "is_punct", "is_space",
             "is_stop", "like_num", "like_url", "like_email", "is_currency"]
    lex = Vocab()[text]
    assert {n for n in names if getattr(lex, n)} == flags


def test_vocab_caches_lexemes_and_rows():
    vocab = Vocab()
    a = vocab["apple"]
    assert vocab["apple"] is a and a.row == 0 and len(vocab) == 1
    assert vocab[a.orth] is a
    rows = vocab.lex_rows(["pear", "apple", "pear"])
    assert rows.dtype == numpy.int64 and rows.tolist() == [1, 0, 1]
    assert "pear" in vocab and len(vocab) == 2


def test_attr_table_columns_and_growth():
    vocab = Vocab()
    words = [f"w{i}" for i in range(3000)]  # more than the initial capacity
    rows = vocab.lex_rows(words)
    table = vocab.attr_table
    assert table.dtype == numpy.uint64 and table.shape == (3000, len(ATTR_NAMES))
    assert table[rows[0], ORTH] == vocab.strings["w0"]
    assert table[rows[2999], LOWER] == vocab["w2999"].lower
    assert vocab.strings[int(table[rows[10], SHAPE])] == "xdd"


def test_vectors_placeholder():
    vectors = Vocab().vectors
    assert vectors.shape == (0, 0) and len(vectors) == 0 and "a" not in vectors


def test_vocab_to_disk_from_disk(tmp_path):
    vocab = Vocab()
    vocab["Straße"]
    vocab.strings.add("LABEL")
    vocab.to_disk(tmp_path / "vocab")
    loaded = Vocab().from_disk(tmp_path / "vocab")
    assert loaded.strings.to_list() == vocab.strings.to_list()
    assert loaded.strings[vocab.strings["LABEL"]] == "LABEL"


def test_vocab_from_disk_errors(tmp_path):
    with pytest.raises(DataError, match="strings.json: the file is missing"):
        Vocab().from_disk(tmp_path)
    (tmp_path / "strings.json").write_text('{"not": "a list"}')
    with pytest.raises(DataError, match="strings.json: expected a JSON list"):
        Vocab().from_disk(tmp_path)


def test_attr_id():
    assert attr_id("orth") == ORTH and attr_id("SHAPE") == SHAPE and attr_id(1) == LOWER
    for bad in ("POS", 6, -1, True, None):
        with pytest.raises(ConfigError, match="ORTH, LOWER, NORM, PREFIX, SUFFIX, SHAPE"):
            attr_id(bad)
