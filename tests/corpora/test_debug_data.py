"""debug_data: counts and every problem of corpus files, in one report."""
import json
from pathlib import Path

import pytest

from workbench.corpora.debug_data import Report, debug_data

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
EWT_DEV = DATA / "ud-ewt" / "en_ewt-ud-dev.conllu"
UNER_DEV = DATA / "uner-ewt" / "en_ewt-ud-dev.iob2"


def row(i, form, upos="X", xpos="XX", misc="_"):
    return "\t".join([str(i), form, form.lower(), upos, xpos, "_", "0", "dep", "_", misc])


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_counts_of_good_files(tmp_path):
    conllu = write(tmp_path, "a.conllu", [row(1, "Jo", "PROPN", "NNP"), row(2, "ran", "VERB", "VBD"), "",
                                          row(1, "Go", "VERB", "VB"), ""])
    iob = write(tmp_path, "b.iob2", ["1\tJo\tB-PER", "2\tSmith\tI-PER", "3\tin\tO", "4\tRome\tB-LOC", ""])
    report = debug_data([conllu, iob], n_sents=2)
    assert report.usable and report.problems == []
    assert (report.docs, report.sentences, report.words) == (2, 3, 7)
    assert report.tags == {"NNP": 1, "VBD": 1, "VB": 1}
    assert report.pos == {"PROPN": 1, "VERB": 2}
    assert report.ents == {"PER": 1, "LOC": 1}
    assert report.files == [(str(conllu), "conllu"), (str(iob), "iob")]
    text = report.format()
    assert "Docs: 2  sentences: 3  words: 7" in text and "Entities (2 labels, 2): PER 1, LOC 1" in text
    assert text.endswith("Usable: yes") and str(report) == text


def test_collects_all_problems_across_files_and_formats(tmp_path):
    conllu = write(tmp_path, "a.conllu", [row(1, "ok"), "", "1\tbad", "", row(2, "late"), ""])
    iob = write(tmp_path, "b.iob", ["a\tO", "b\tI-PER", "c\tL-PER", "", "d\tB-X", "e\tO", ""])
    raw = write(tmp_path, "c.jsonl", ['{"text": "fine"}', "", '{"text": 1}', "{oops"])
    docs = write(tmp_path, "d.jsonl", ['{"words": ["a"]}', '{"words": ["a"], "tags": []}'])
    report = debug_data([conllu, iob, raw, docs])
    where = [(Path(p.path).name, p.line) for p in report.errors]
    assert where == [("a.conllu", 3), ("a.conllu", 5), ("b.iob", 2), ("b.iob", 6),
                     ("c.jsonl", 2), ("c.jsonl", 3), ("c.jsonl", 4), ("d.jsonl", 2)]
    assert not report.usable
    assert report.docs == 1 + 0 + 1 + 1  # the sentences and lines that are fine
    text = report.format()
    assert "Problems: 8 error(s)" in text and text.endswith("Usable: NO")
    assert f"{conllu}:3: error: expected 10 tab-separated columns" in text


def test_warnings_do_not_make_data_unusable(tmp_path):
    docs = write(tmp_path, "d.jsonl", [
        json.dumps({"words": ["(", "Jo", ")", "x"], "ents": [[0, 2, "PER"]]}),
        json.dumps({"words": []}),
        json.dumps({"words": ["A", "B"], "sent_starts": [True, True], "ents": [[0, 2, "ORG"]]}),
    ])
    report = debug_data(docs)
    assert report.usable and report.errors == []
    messages = [(p.line, p.message) for p in report.warnings]
    assert messages == [(1, "PER entity '( Jo' begins or ends with punctuation; check its boundaries"),
                        (2, "doc has no words"),
                        (3, "ORG entity 'A B' crosses a sentence boundary")]


def test_unknown_format_missing_file_and_empty_input(tmp_path):
    prose = write(tmp_path, "notes.txt", ["Some prose here."])
    empty = write(tmp_path, "e.conllu", [""])
    report = debug_data([prose, tmp_path / "nope.conllu", empty])
    assert not report.usable
    assert [(Path(p.path).name, p.severity, p.message.split(":")[0]) for p in report.problems] == [
        ("nope.conllu", "error", "file not found"),
        ("notes.txt", "error", "unknown format"),
        ("e.conllu", "warning", "extra blank line; sentences are separated by exactly one"),
        ("e.conllu", "warning", "no usable docs in this file"),
    ]
    assert report.files == [(str(prose), "unknown"), (str(empty), "conllu")]


def test_directory_and_raw_text(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder, "raw.jsonl", ['{"text": "two words"}', '{"text": "and three more"}'])
    report = debug_data(folder)
    assert report.files == [(str(folder / "raw.jsonl"), "text-jsonl")]
    assert (report.docs, report.words, report.usable) == (2, 5, True)
    (tmp_path / "void").mkdir()
    assert "holds no corpus files" in debug_data(tmp_path / "void").problems[0].message


def test_merge_mode_checks_the_pair(tmp_path):
    conllu = write(tmp_path, "a.conllu", ["# sent_id = 1", row(1, "Jo"), "", "# sent_id = 2", row(1, "X"), ""])
    iob = write(tmp_path, "b.iob", ["# sent_id = 1", "Jo\tU-PER", ""])
    report = debug_data([conllu, iob], merge=True)
    assert report.ents == {"PER": 1} and report.docs == 1
    assert [str(p).split(": ", 1)[1] for p in report.errors] == [
        f"error: sentence 2 has no matching sentence in {iob}"]
    bad = debug_data([conllu], merge=True)
    assert not bad.usable and "merge needs one CoNLL-U file and one IOB" in bad.problems[0].message


def test_report_to_dict_is_json_ready(tmp_path):
    report = debug_data(write(tmp_path, "b.iob", ["Jo\tB-PER", ""]))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ents"] == {"PER": 1} and data["usable"] is True and data["problems"] == []
    assert isinstance(Report(), Report) and not Report().usable


@pytest.mark.skipif(not (EWT_DEV.exists() and UNER_DEV.exists()),
                    reason=f"real data missing: needs {EWT_DEV} and {UNER_DEV}")
def test_real_ewt_dev_with_uner():
    report = debug_data([EWT_DEV, UNER_DEV], merge=True)
    assert report.usable
    assert (report.docs, report.sentences, report.words) == (2001, 2001, 25147)
    assert sum(report.ents.values()) == 966 and len(report.pos) == 17
    assert len(report.warnings) == 3 and report.errors == []


def test_cats_labels_are_counted(tmp_path):
    rows = [{"words": ["great", "food"], "cats": {"reviews": 1.0, "email": 0.0}},
            {"words": ["hi", "bob"], "cats": {"reviews": 0.0, "email": 1.0}},
            {"words": ["hi", "great", "food"], "cats": {"reviews": 1.0, "email": 1.0}},
            {"words": ["no", "cats"]}]
    path = write(tmp_path, "cats.jsonl", [json.dumps(r) for r in rows])
    report = debug_data(path)
    assert report.usable and report.cats == {"reviews": 2, "email": 2} and report.cats_docs == 3
    assert report.multi_positive == [(str(path), 3)]
    text = report.format()
    assert "Cats (2 labels, 3 docs with cats): reviews 2, email 2" in text
    assert f"1 doc(s) have more than one positive label (first: {path}:3)" in text
    assert report.to_dict()["cats"] == {"reviews": 2, "email": 2}
