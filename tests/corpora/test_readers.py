"""Corpus readers: CoNLL-U, IOB/BILUO, raw-text and annotated JSONL, Corpus objects."""
import json
import types

import pytest

import workbench
from workbench.corpora.corpus import (
    Corpus,
    JsonlCorpus,
    detect_corpus_format,
    read_conllu,
    read_docs,
    read_iob,
    read_jsonl_docs,
    read_texts,
    split_doc_dict,
)
from workbench.errors import DataError
from workbench.text.doc import Doc
from workbench.text.vocab import Vocab


def row(i, form, upos="X", xpos="XX", misc="_"):
    return "\t".join([str(i), form, form.lower(), upos, xpos, "_", "0", "dep", "_", misc])


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


CONLLU = [
    "# sent_id = s1",
    "# text = I don't know.",
    row(1, "I", "PRON", "PRP"),
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_",
    row(2, "do", "AUX", "VBP"),
    row(3, "n't", "PART", "RB"),
    row(4, "know", "VERB", "VB", "SpaceAfter=No"),
    "4.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t_\t_",
    row(5, ".", "PUNCT", "."),
    "",
    "# sent_id = s2",
    "# text = Hi!",
    row(1, "Hi", "INTJ", "UH", "SpaceAfter=No"),
    row(2, "!", "PUNCT", "."),
    "",
    "# sent_id = s3",
    row(1, "Bye", "INTJ", "UH"),
    "",
]


# ---------------------------------------------------------------- CoNLL-U
def test_conllu_words_spaces_tags_pos(tmp_path):
    docs = list(read_conllu(write(tmp_path, "a.conllu", CONLLU)))
    assert len(docs) == 3
    first = docs[0]
    assert first["words"] == ["I", "do", "n't", "know", "."]  # syntactic words, no empty node
    assert first["spaces"] == [True, False, True, False, False]
    assert first["text"] == "I don't know."
    assert first["pos"] == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert first["tags"] == ["PRP", "VBP", "RB", "VB", "."]
    assert first["sent_starts"] == [True, False, False, False, False]
    assert "ents" not in first  # CoNLL-U carries no entities
    assert docs[1]["text"] == "Hi!"


def test_conllu_is_a_streaming_generator(tmp_path):
    lines = CONLLU + ["1\tbroken line"]
    docs = read_conllu(write(tmp_path, "a.conllu", lines))
    assert isinstance(docs, types.GeneratorType)
    assert next(docs)["words"][0] == "I"  # the bad last line is not read yet
    with pytest.raises(DataError, match=r"a\.conllu:19: expected 10 tab-separated"):
        list(docs)


def test_conllu_n_sents_groups_sentences(tmp_path):
    docs = list(read_conllu(write(tmp_path, "a.conllu", CONLLU), n_sents=2))
    assert len(docs) == 2
    assert docs[0]["words"] == ["I", "do", "n't", "know", ".", "Hi", "!"]
    assert docs[0]["sent_starts"] == [True, False, False, False, False, True, False]
    assert docs[0]["text"] == "I don't know. Hi!"
    assert docs[1]["words"] == ["Bye"]


def test_conllu_spacing_matches_text_on_multiword_and_space_after(tmp_path):
    lines = ["# text = Today's news:fine", "1-2\tToday's\t_\t_\t_\t_\t_\t_\t_\t_",
             row(1, "Today"), row(2, "'s"), row(3, "news", misc="SpaceAfter=No"),
             row(4, ":", misc="SpaceAfter=No"), row(5, "fine"), ""]
    problems = []
    doc = next(read_conllu(write(tmp_path, "a.conllu", lines), on_error=problems.append))
    assert doc["text"] == "Today's news:fine"
    assert problems == []


def test_conllu_text_wins_over_wrong_space_after(tmp_path):
    lines = ["# text = Hello, world", row(1, "Hello"), row(2, ","), row(3, "world"), ""]
    problems = []
    doc = next(read_conllu(write(tmp_path, "a.conllu", lines), on_error=problems.append))
    assert doc["spaces"] == [False, True, False]
    assert [(p.line, p.severity) for p in problems] == [(1, "warning")]
    assert "spacing taken from '# text'" in problems[0].message


def test_conllu_text_that_does_not_match_words_is_a_warning(tmp_path):
    lines = ["# text = Hello there", row(1, "Hello"), row(2, "world"), ""]
    problems = []
    doc = next(read_conllu(write(tmp_path, "a.conllu", lines), on_error=problems.append))
    assert doc["words"] == ["Hello", "world"]
    assert len(problems) == 1 and "at token 'world' (line 3)" in problems[0].message


@pytest.mark.parametrize("bad,line,message", [
    ("1 Hello hello X XX _ 0 dep _ _", 2, "expected 10 tab-separated columns, found 1"),
    ("1\tHello\thello", 2, "found 3"),
    (row("x", "Hello"), 2, "token id 'x' is not an integer"),
    (row(3, "Hello"), 2, "token id 3 out of order: expected 1"),
    (row("3-2", "Hello"), 2, "must be a range like 3-4"),
    (row(1, ""), 2, "empty FORM"),
])
def test_conllu_malformed_lines_raise_with_file_and_line(tmp_path, bad, line, message):
    path = write(tmp_path, "bad.conllu", ["# sent_id = a", bad, ""])
    with pytest.raises(DataError) as err:
        list(read_conllu(path))
    assert f"bad.conllu:{line}: " in str(err.value)
    assert message in str(err.value)


def test_conllu_collects_every_problem_and_keeps_good_sentences(tmp_path):
    lines = [row(1, "Good"), "",
             row(1, "A"), "1\tB", row(3, "C"), "",  # wrong column count
             row(1, "D"), row(3, "E"), "",  # out of order
             row(1, "F"), "# late comment", "",  # comment inside a sentence
             "1-2\tcannot\t_\t_\t_\t_\t_\t_\t_\t_", row(1, "can"), "",  # range not finished
             row(1, "Last"), ""]
    problems = []
    docs = list(read_conllu(write(tmp_path, "a.conllu", lines), on_error=problems.append))
    assert [d["words"] for d in docs] == [["Good"], ["Last"]]
    errors = [(p.line, p.message.split(":")[0]) for p in problems if p.severity == "error"]
    assert [line for line, _ in errors] == [4, 8, 11, 13]
    assert "multiword token ends at word 2" in problems[-1].message


def test_conllu_empty_nodes_are_skipped_and_checked(tmp_path):
    lines = [row(1, "a"), "1.1\tx\tx\tX\tX\t_\t_\t_\t_\t_", row(2, "b"),
             "5.1\ty\ty\tX\tX\t_\t_\t_\t_\t_", ""]
    with pytest.raises(DataError, match=r"a\.conllu:4: empty node 5\.1 out of order"):
        list(read_conllu(write(tmp_path, "a.conllu", lines)))


# ---------------------------------------------------------------- IOB / BILUO
UNER = [
    "# sent_id = u1",
    "# text = Jo Smith visited New York City .",
    "1\tJo\tB-PER\t-\tx", "2\tSmith\tI-PER\t-\tx", "3\tvisited\tO\t-\t-",
    "4\tNew\tB-LOC\t-\t-", "5\tYork\tI-LOC\t-\t-", "6\tCity\tI-LOC\t-\t-", "7\t.\tO\t-\t-",
    "",
    "# sent_id = u2",
    "1\tIBM\tB-ORG\t-\t-", "2\tand\tO\t-\t-", "3\tApple\tB-ORG\t-\t-", "4\tInc\tI-ORG\t-\t-",
    "",
]


def test_iob2_indexed_columns(tmp_path):
    docs = list(read_iob(write(tmp_path, "a.iob2", UNER)))
    assert len(docs) == 2
    assert docs[0]["words"] == ["Jo", "Smith", "visited", "New", "York", "City", "."]
    assert docs[0]["ents"] == [[0, 2, "PER"], [3, 6, "LOC"]]
    assert docs[0]["text"] == "Jo Smith visited New York City ."
    assert docs[1]["ents"] == [[0, 1, "ORG"], [2, 4, "ORG"]]
    assert "tags" not in docs[0] and "pos" not in docs[0]


def test_iob_text_comment_gives_spacing(tmp_path):
    lines = ["# text = Hi, Bo!", "1\tHi\tO", "2\t,\tO", "3\tBo\tB-PER", "4\t!\tO", ""]
    doc = next(read_iob(write(tmp_path, "a.iob", lines)))
    assert doc["text"] == "Hi, Bo!"


def test_iob1_two_columns_and_docstart(tmp_path):
    lines = ["-DOCSTART- O", "", "Jo I-PER", "Smith I-PER", "met O", "Al I-PER",
             "Bo B-PER", "in O", "Paris I-LOC", ""]
    docs = list(read_iob(write(tmp_path, "a.bio", lines)))
    assert len(docs) == 1
    assert docs[0]["ents"] == [[0, 2, "PER"], [3, 4, "PER"], [4, 5, "PER"], [6, 7, "LOC"]]


def test_conll2003_layout_takes_last_column(tmp_path):
    lines = ["EU NNP B-NP B-ORG", "rejects VBZ B-VP O", "German JJ B-NP B-MISC", ""]
    doc = next(read_iob(write(tmp_path, "a.iob", lines)))
    assert doc["words"] == ["EU", "rejects", "German"]
    assert doc["ents"] == [[0, 1, "ORG"], [2, 3, "MISC"]]


def test_pipe_format_one_sentence_per_line(tmp_path):
    lines = ["Jo|NNP|B-PER Smith|NNP|I-PER runs|VBZ|O", "In|O Rome|U-LOC"]
    docs = list(read_iob(write(tmp_path, "a.iob", lines)))
    assert docs[0]["ents"] == [[0, 2, "PER"]]
    assert docs[0]["tags"] == ["NNP", "NNP", "VBZ"]
    assert docs[1]["ents"] == [[1, 2, "LOC"]]


def test_biluo_valid(tmp_path):
    lines = ["a\tU-PER", "b\tB-ORG", "c\tI-ORG", "d\tL-ORG", "e\tO", "f\tS-LOC", ""]
    doc = next(read_iob(write(tmp_path, "a.biluo", lines)))
    assert doc["ents"] == [[0, 1, "PER"], [1, 4, "ORG"], [5, 6, "LOC"]]


@pytest.mark.parametrize("tags,line,message", [
    (["B-PER", "O"], 2, "follows the unfinished PER entity begun at line 1"),
    (["O", "L-PER"], 2, "L-PER continues no entity"),
    (["B-PER", "L-ORG"], 2, "L-ORG follows the unfinished PER entity"),
    (["U-PER", "B-LOC"], 2, "the LOC entity begun at line 2 is not finished"),
    (["O", "X-PER"], 2, "invalid entity tag 'X-PER'"),
    (["O", "B-"], 2, "entity tag 'B-' has no type"),
])
def test_bad_tag_sequences_raise_with_line(tmp_path, tags, line, message):
    path = write(tmp_path, "t.biluo", [f"w{i}\t{t}" for i, t in enumerate(tags)] + [""])
    with pytest.raises(DataError) as err:
        list(read_iob(path))
    assert f"t.biluo:{line}: " in str(err.value) and message in str(err.value)


def test_iob_column_and_index_errors_all_collected(tmp_path):
    lines = ["1\tA\tO\t-\t-", "2\tB\tO\t-", "", "1\tC\tO\t-\t-", "3\tD\tO\t-\t-", "",
             "one\tE\tO\t-\t-", "", "1\tF\tB-PER\t-\t-", ""]
    problems = []
    docs = list(read_iob(write(tmp_path, "a.iob2", lines), on_error=problems.append))
    assert [d["words"] for d in docs] == [["F"]]
    assert [(p.line, p.severity) for p in problems] == [(2, "error"), (5, "error"), (7, "error")]
    assert "expected 5 tab-separated columns" in problems[0].message
    assert "token index '3' is out of order: expected 2" in problems[1].message
    assert "token index 'one' is not an integer" in problems[2].message


def test_biluo_tags_in_an_iob_file_make_it_strict_from_there_on(tmp_path):
    lines = ["a\tB-PER", "", "b\tB-PER", "c\tU-PER", "", "d\tB-PER", ""]
    problems = []
    docs = list(read_iob(write(tmp_path, "a.iob", lines), on_error=problems.append))
    assert [d["ents"] for d in docs] == [[[0, 1, "PER"]]]  # IOB until the first U-
    assert [(p.line, p.message.split(";")[0]) for p in problems] == [
        (4, "U-PER follows the unfinished PER entity begun at line 3"),
        (6, "the PER entity begun at line 6 is not finished when the sentence ends")]


# ---------------------------------------------------------------- JSONL
def test_raw_text_jsonl(tmp_path):
    path = write(tmp_path, "raw.jsonl", [json.dumps({"text": "Hello world."}),
                                         json.dumps({"text": "Line\nbreak", "meta": 1})])
    texts = read_texts(path)
    assert isinstance(texts, types.GeneratorType)
    assert list(texts) == ["Hello world.", "Line\nbreak"]


def test_raw_text_jsonl_reports_every_bad_line(tmp_path):
    lines = ['{"text": "ok"}', "", '{"txt": "x"}', '{"text": "unterminated', "[1, 2]",
             '{"text": 5}', '{"text": ""}', '{"text": "last"}']
    problems = []
    texts = list(read_texts(write(tmp_path, "raw.jsonl", lines), on_error=problems.append))
    assert texts == ["ok", "", "last"]
    assert [(p.line, p.severity) for p in problems] == [
        (2, "error"), (3, "error"), (4, "error"), (5, "error"), (6, "error"), (7, "warning")]
    assert "empty line" in problems[0].message
    assert 'no "text" key (keys: txt)' in problems[1].message
    assert "invalid JSON" in problems[2].message
    assert "expected a JSON object" in problems[3].message
    with pytest.raises(DataError, match=r"raw\.jsonl:2: empty line"):
        list(read_texts(tmp_path / "raw.jsonl"))


def test_annotated_jsonl_round_trips_doc_to_json(tmp_path):
    vocab = Vocab()
    doc = Doc(vocab, ["Jo", "sings", "."], [True, False, False], tags=["NNP", "VBZ", "."],
              sent_starts=[True, False, False], ents=[(0, 1, "PER")])
    path = write(tmp_path, "docs.jsonl", [json.dumps(doc.to_json())])
    data = next(read_jsonl_docs(path))
    again = Doc.from_json(vocab, data)
    assert again.text == "Jo sings." and again.tags == ["NNP", "VBZ", "."]
    assert [(e.start, e.end, e.label_) for e in again.ents] == [(0, 1, "PER")]


@pytest.mark.parametrize("obj,message", [
    ({"words": ["a", "b"], "spaces": [True]}, '"spaces" must be a list with one value per word (2), got 1'),
    ({"words": ["a"], "ents": [[0, 2, "X"]]}, "outside the doc's 1 words"),
    ({"words": ["a", "b"], "ents": [[0, 2, "X"], [1, 2, "Y"]]}, "overlaps"),
    ({"words": ["a", "b"], "spaces": [True, False], "text": "ab"}, '"text" differs'),
    ({"words": ["a", ""]}, "non-empty strings"),
    ({"words": ["a"], "tags": [3]}, '"tags" holds 3'),
    ({"text": "raw"}, 'no "words" key (this looks like raw text'),
    ({"words": ["a"], "cats": ["reviews"]}, '"cats" must be an object of label -> number'),
    ({"words": ["a"], "cats": {"reviews": "yes"}}, '"cats" must be an object of label -> number'),
])
def test_annotated_jsonl_errors(tmp_path, obj, message):
    path = write(tmp_path, "d.jsonl", ['{"words": ["ok"]}', json.dumps(obj)])
    with pytest.raises(DataError) as err:
        list(read_jsonl_docs(path))
    assert "d.jsonl:2: " in str(err.value) and message in str(err.value)


# ---------------------------------------------------------------- formats, Corpus
def test_detect_format(tmp_path):
    assert detect_corpus_format(write(tmp_path, "a.conllu", ["x"])) == "conllu"
    assert detect_corpus_format(write(tmp_path, "a.iob2", ["x"])) == "iob"
    assert detect_corpus_format(write(tmp_path, "a.biluo", ["x"])) == "biluo"
    assert detect_corpus_format(write(tmp_path, "a.jsonl", ['{"text": "x"}'])) == "text-jsonl"
    assert detect_corpus_format(write(tmp_path, "b.jsonl", ['{"words": ["x"]}'])) == "jsonl"
    assert detect_corpus_format(write(tmp_path, "c.txt", ["# c", row(1, "x")])) == "conllu"
    assert detect_corpus_format(write(tmp_path, "d.txt", ["x\tB-PER"])) == "iob"
    assert detect_corpus_format(write(tmp_path, "e.txt", ["just prose"])) is None
    with pytest.raises(DataError, match="unknown corpus format"):
        read_docs(tmp_path / "e.txt")
    with pytest.raises(DataError, match="raw text"):
        read_docs(tmp_path / "a.jsonl")


@pytest.fixture(scope="module")
def nlp():
    return workbench.blank("en")


def test_corpus_from_file_yields_examples(tmp_path, nlp):
    examples = list(Corpus(write(tmp_path, "a.conllu", CONLLU))(nlp))
    assert len(examples) == 3
    eg = examples[0]
    assert eg.reference.tags == ["PRP", "VBP", "RB", "VB", "."]
    assert eg.predicted.words == eg.reference.words
    assert eg.predicted.tags == [None] * 5


def test_corpus_directory_limit_and_n_sents(tmp_path, nlp):
    folder = tmp_path / "corpus"
    folder.mkdir()
    write(folder, "b.conllu", CONLLU)
    write(folder, "a.iob2", UNER)
    write(folder, "notes.txt", ["ignored"])
    texts = [eg.text for eg in Corpus(folder)(nlp)]
    assert texts == ["Jo Smith visited New York City .", "IBM and Apple Inc",
                     "I don't know.", "Hi!", "Bye"]
    assert len(list(Corpus(folder, limit=2)(nlp))) == 2
    assert len(list(Corpus(folder, n_sents=2)(nlp))) == 3  # 1 IOB doc + 2 CoNLL-U docs


def test_corpus_shuffle_keeps_the_docs(tmp_path, nlp):
    path = write(tmp_path, "a.conllu", CONLLU)
    shuffled = sorted(eg.text for eg in Corpus(path, shuffle=True)(nlp))
    assert shuffled == sorted(eg.text for eg in Corpus(path)(nlp))


def test_corpus_max_length_cuts_at_sentences(tmp_path, nlp):
    path = write(tmp_path, "a.conllu", CONLLU)
    lengths = [len(eg) for eg in Corpus(path, n_sents=3, max_length=3)(nlp)]
    assert lengths == [3]  # 5-word sentence dropped; "Hi !" + "Bye" packed together
    assert [len(eg) for eg in Corpus(path, n_sents=3, max_length=7)(nlp)] == [7, 1]


def test_split_doc_dict_never_cuts_an_entity():
    doc = {"words": list("abcdef"), "spaces": [True] * 6,
           "sent_starts": [True, False, True, False, True, False],
           "ents": [[1, 3, "X"], [4, 5, "Y"]]}
    pieces = split_doc_dict(doc, 4)
    assert [p["words"] for p in pieces] == [list("abcd"), list("ef")]
    assert pieces[0]["ents"] == [[1, 3, "X"]] and pieces[1]["ents"] == [[0, 1, "Y"]]
    assert pieces[1]["sent_starts"][0] is True


def test_corpus_errors_name_the_problem(tmp_path, nlp):
    with pytest.raises(DataError, match="does not exist"):
        list(Corpus(tmp_path / "missing.conllu")(nlp))
    with pytest.raises(DataError, match="no path set"):
        list(Corpus(None)(nlp))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no"):
        list(Corpus(tmp_path / "empty")(nlp))


def test_jsonl_corpus_lengths_and_limit(tmp_path, nlp):
    lines = [json.dumps({"text": t}) for t in ["one", "two words", "three words here", "a b c d"]]
    path = write(tmp_path, "raw.jsonl", lines)
    assert [len(eg) for eg in JsonlCorpus(path)(nlp)] == [1, 2, 3, 4]
    # "a b c d" is split into 3 + 1 tokens; the piece of 1 is shorter than min_length
    assert [len(eg) for eg in JsonlCorpus(path, min_length=2, max_length=3)(nlp)] == [2, 3, 3]
    assert [eg.text for eg in JsonlCorpus(path, limit=1)(nlp)] == ["one"]


def test_iob_comment_inside_sentence_and_unmatched_text(tmp_path):
    lines = ["# text = totally different", "1\tJo\tB-PER", "# stray", "2\tran\tO", ""]
    problems = []
    docs = list(read_iob(write(tmp_path, "a.iob2", lines), on_error=problems.append))
    assert docs[0]["words"] == ["Jo", "ran"] and docs[0]["text"] == "Jo ran"  # default spacing
    assert [(p.line, p.severity) for p in problems] == [(3, "warning")]


def test_invalid_utf8_and_bom(tmp_path):
    path = tmp_path / "a.conllu"
    path.write_bytes("\ufeff".encode() + row(1, "ok").encode() + b"\n\n"
                     + row(1, "bad").encode().replace(b"bad", b"ba\xffd", 1) + b"\n\n")
    problems = []
    docs = list(read_conllu(path, on_error=problems.append))
    assert [d["words"] for d in docs] == [["ok"], ["ba\ufffdd"]]  # reads on after reporting
    assert [(p.line, p.message.split(" (")[0]) for p in problems] == [(3, "not valid UTF-8")]
    assert str(problems[0]).startswith(f"{path}:3: error: not valid UTF-8")


def test_annotated_jsonl_cats_reach_the_references(tmp_path, nlp):
    lines = [json.dumps({"words": ["great", "food"], "cats": {"reviews": 1.0, "email": 0.0}}),
             json.dumps({"words": ["hi", "bob"], "cats": {"reviews": 0, "email": 1}}),
             json.dumps({"words": ["no", "cats"]})]
    examples = list(Corpus(write(tmp_path, "cats.jsonl", lines))(nlp))
    assert [eg.reference.cats for eg in examples] == [{"reviews": 1.0, "email": 0.0}, {"reviews": 0.0, "email": 1.0}, {}]
    assert all(eg.predicted.cats == {} for eg in examples)  # the model's side starts blank
    assert all(type(v) is float for v in examples[1].reference.cats.values())
    long = json.dumps({"words": ["a", ".", "b", "."], "sent_starts": [True, False, True, False],
                       "cats": {"email": 1.0}})
    pieces = list(Corpus(write(tmp_path, "long.jsonl", [long]), max_length=2)(nlp))
    assert [eg.reference.cats for eg in pieces] == [{"email": 1.0}, {"email": 1.0}]  # each piece keeps them
