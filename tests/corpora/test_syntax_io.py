"""HEAD/DEPREL through the CoNLL-U reader, convert, annotated JSONL and Doc JSON; bad heads."""
import json

import pytest

from workbench.corpora.convert import convert
from workbench.corpora.corpus import read_conllu, read_jsonl_docs
from workbench.errors import DataError
from workbench.text.doc import Doc
from workbench.text.vocab import Vocab


def row(i, form, head, dep, misc="_"):
    return "\t".join([str(i), form, form.lower(), "X", "XX", "_", str(head), dep, "_", misc])


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# "She ate fish ." (root ate) and "Hi !" (root Hi), with EWT-style genre ids
PARSED = [
    "# sent_id = reviews-001-0001",
    row(1, "She", 2, "nsubj"), row(2, "ate", 0, "root"), row(3, "fish", 2, "obj", "SpaceAfter=No"),
    row(4, ".", 2, "punct"),
    "",
    "# sent_id = email-002-0001",
    row(1, "Hi", 0, "root", "SpaceAfter=No"), row(2, "!", 1, "punct"),
    "",
]


def test_reader_carries_heads_and_deps_as_local_indices(tmp_path):
    docs = list(read_conllu(write(tmp_path, "a.conllu", PARSED)))
    assert docs[0]["heads"] == [1, 1, 1, 1]  # the root is its own head
    assert docs[0]["deps"] == ["nsubj", "root", "obj", "punct"]
    assert docs[1]["heads"] == [0, 0] and docs[1]["deps"] == ["root", "punct"]


def test_grouped_sentences_offset_the_heads(tmp_path):
    (doc,) = read_conllu(write(tmp_path, "a.conllu", PARSED), n_sents=2)
    assert doc["heads"] == [1, 1, 1, 1, 4, 4]
    assert doc["sent_starts"] == [True, False, False, False, True, False]
    parsed = Doc.from_json(Vocab(), doc)
    assert [t.head.text for t in parsed] == ["ate", "ate", "ate", "ate", "Hi", "Hi"]
    assert [c.text for c in parsed[1].children] == ["She", "fish", "."]


def test_unannotated_heads_stay_unknown(tmp_path):
    lines = ["\t".join(["1", "Hi", "hi", "X", "XX", "_", "_", "_", "_", "_"]), ""]
    (doc,) = read_conllu(write(tmp_path, "a.conllu", lines))
    assert "heads" not in doc or doc["heads"] is None


def test_convert_round_trips_heads_deps_and_genre_cats_through_jsonl(tmp_path):
    out = tmp_path / "out.jsonl"
    summary = convert([write(tmp_path, "a.conllu", PARSED)], out, cats_from_sent_id=True)
    assert summary["docs"] == 2
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["heads"] == [1, 1, 1, 1] and lines[0]["deps"][0] == "nsubj"
    assert lines[0]["cats"] == {"email": 0.0, "reviews": 1.0}
    assert lines[1]["cats"] == {"email": 1.0, "reviews": 0.0}
    read = list(read_jsonl_docs(out))  # the reader checks heads and cats on the way in
    docs = [Doc.from_json(Vocab(), d) for d in read]
    assert docs[0].heads == [1, 1, 1, 1] and docs[0].deps == ["nsubj", "root", "obj", "punct"]
    assert docs[1].cats == {"email": 1.0, "reviews": 0.0}
    again = Doc.from_json(Vocab(), docs[0].to_json())  # Doc JSON keeps the parse too
    assert again.heads == docs[0].heads and again.deps == docs[0].deps and again.cats == docs[0].cats


@pytest.mark.parametrize("heads,line,message", [
    ([2, 3, 2], 3, "the heads form a cycle (2 -> 3 -> 2)"),  # a->b, b->c, c->b
    ([2, 0, 7], 4, "head 7 of word 3 is not a word of its sentence (1..3, or 0 for the root)"),
    ([2, 0, "x"], 4, "HEAD (column 7) is 'x'"),
])
def test_bad_heads_in_conllu_name_file_and_line(tmp_path, heads, line, message):
    lines = ["# sent_id = a"] + [row(i + 1, w, h, "dep") for i, (w, h) in enumerate(zip("abc", heads))] + [""]
    path = write(tmp_path, "bad.conllu", lines)
    with pytest.raises(DataError) as err:
        list(read_conllu(path))
    assert f"bad.conllu:{line}: " in str(err.value)
    assert message in str(err.value)
    with pytest.raises(DataError, match="nothing written"):  # convert reports it and writes nothing
        convert([path], tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("heads,message", [
    ([1, 2, 0], '"heads": the heads form a cycle'),
    ([1, 1, 5], '"heads": head 5 of word 2 is not a word of its doc (0..2; a root is its own head)'),
])
def test_bad_heads_in_jsonl_name_file_and_line(tmp_path, heads, message):
    good = {"words": ["a", "b"], "heads": [1, 1], "deps": ["dep", "root"]}
    bad = {"words": ["a", "b", "c"], "heads": heads, "deps": ["dep"] * 3}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        list(read_jsonl_docs(path))
    assert "bad.jsonl:2: " in str(err.value) and message in str(err.value)
