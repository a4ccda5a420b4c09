"""Damaged corpora: CR-only line ends, floods of one warning, IOB slips reported once
each, raw texts longer than the pretraining limit."""
import json

import pytest

import workbench
from workbench.cli import main as cli_main
from workbench.corpora.base import MAX_REPEATS, Problem, Problems
from workbench.corpora.convert import convert, format_convert_report
from workbench.corpora.corpus import JsonlCorpus
from workbench.corpora.debug_data import debug_data
from workbench.corpora.detect import read_docs


def row(i, form, upos="NOUN"):
    return "\t".join([str(i), form, form.lower(), upos, "NN", "_", "0" if i == 1 else "1",
                      "root" if i == 1 else "dep", "_", "_"])


CONLLU = [row(1, "Dogs"), row(2, "bark"), "", row(1, "Cats"), row(2, "purr"), row(3, "loudly"), ""]
IOB2 = ["1\tJo\tB-PER", "2\tSmith\tI-PER", "3\tin\tO", "4\tRome\tB-LOC", "", "1\tHi\tO", ""]
JSONL = [json.dumps({"words": ["A", "b"], "spaces": [True, False]}), json.dumps({"words": ["C"], "spaces": [False]})]


@pytest.mark.parametrize("name,lines,n_docs,n_words", [
    ("a.conllu", CONLLU, 2, 5), ("a.iob2", IOB2, 2, 5), ("a.jsonl", JSONL, 2, 3),
])
@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"], ids=["cr", "crlf", "lf"])
def test_every_line_ending_reads_the_same(tmp_path, name, lines, n_docs, n_words, eol):
    path = tmp_path / name
    path.write_bytes(eol.join(lines).encode("utf8") + eol.encode())
    docs = list(read_docs(path))
    assert len(docs) == n_docs and sum(len(d["words"]) for d in docs) == n_words
    report = debug_data(path)
    assert report.usable and report.problems == [] and report.docs == n_docs


def test_cr_at_a_read_block_boundary(tmp_path):
    """A '\\r\\n' split across the 1 MiB read blocks is one line end, not two."""
    from workbench.corpora.base import raw_lines

    first = b"x" * ((1 << 20) - 1) + b"\r"  # the block ends on the \r
    path = tmp_path / "t.txt"
    path.write_bytes(first + b"\nsecond\rthird\r\n\rlast")
    with path.open("rb") as f:
        assert [len(x) if len(x) > 100 else x for x in raw_lines(f)] == [(1 << 20) - 1, b"second", b"third", b"", b"last"]


def test_a_flood_of_one_warning_is_capped_with_a_count(tmp_path):
    path = tmp_path / "blank.conllu"
    path.write_text("\n".join(CONLLU[:3] + [""] * 3000 + CONLLU[3:]) + "\n", encoding="utf8")
    report = debug_data(path)
    blank = [p for p in report.problems if "extra blank line" in p.message]
    assert len(blank) == MAX_REPEATS == 20 and report.usable
    text = report.format()
    assert "Problems: 0 error(s), 3000 warning(s)" in text
    assert f"... and {3000 - MAX_REPEATS:,} more of 'extra blank line" in text and "(first at line 4)" in text
    assert len(text.splitlines()) < 80
    summary = convert(path, tmp_path / "out.jsonl")
    assert len(summary["warnings"]) == MAX_REPEATS + 1 and "2,980 more" in summary["warnings"][-1]
    assert len(format_convert_report(summary).splitlines()) < 30


def test_problems_keep_every_error_and_distinct_warnings():
    problems = Problems()
    for i in range(50):
        problems.append(Problem("f", i + 1, "bad", "error"))
        problems.append(Problem("f", i + 1, f"odd {i}", "warning"))
        problems.append(Problem("f", i + 1, "same", "warning"))
    assert sum(p.severity == "error" for p in problems) == 50
    assert sum(p.message.startswith("odd") for p in problems) == 50
    assert sum(p.message == "same" for p in problems) == MAX_REPEATS and problems.n_suppressed == 30
    assert problems.suppressed_lines() == ["f: warning: ... and 30 more of 'same' (first at line 1)"]


def test_debug_data_reports_i_after_o_and_a_typeless_b_once_each(tmp_path):
    lines = ["1\tJohn\tO", "2\tSmith\tI-PER", "3\tlives\tO", "4\tin\tO", "5\tNew\tB-", "6\tYork\tI-LOC",
             "7\t.\tO", "", "1\tAnn\tB-PER", "2\tLee\tI-PER", ""]
    path = tmp_path / "u.iob2"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    report = debug_data(path)
    found = [(p.line, p.severity, p.message) for p in report.problems]
    assert found == [
        (5, "error", "entity tag 'B-' has no type: write it with a label, e.g. B-PER"),
        (2, "warning", "I-PER follows O: in IOB2 an entity starts with B-PER; read as the start of a PER entity"),
    ], found
    assert report.docs == 1 and report.ents == {"PER": 1}  # the damaged sentence is left out, the next kept


def test_biluo_slips_are_reported_once_each(tmp_path):
    lines = ["John\tO", "Smith\tI-PER", "Smith\tL-PER", "in\tO", "New\tB-", "York\tL-LOC", ".\tO", "",
             "Paris\tB-", ".\tO", ""]
    path = tmp_path / "u.biluo"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    found = [(p.line, p.message.split(";")[0]) for p in debug_data(path).problems]
    assert found == [(5, "entity tag 'B-' has no type: write it with a label, e.g. B-PER"),
                     (2, "I-PER continues no entity"),
                     (9, "entity tag 'B-' has no type: write it with a label, e.g. B-PER"),
                     (0, "no usable docs in this file")], found


def test_iob1_files_are_not_warned_about(tmp_path):
    """IOB1 starts entities with I- and uses B- only right after one of the same type."""
    lines = ["1\tJo\tI-PER", "2\tAnn\tB-PER", "3\tin\tO", "4\tRome\tI-LOC", ""]
    path = tmp_path / "old.iob"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    report = debug_data(path)
    assert report.problems == [] and report.ents == {"PER": 2, "LOC": 1}


def test_pretraining_texts_over_the_limit_are_split(tmp_path):
    path = tmp_path / "raw.jsonl"
    long_text = " ".join(["word"] * 400 + ["."] + ["more"] * 700)
    path.write_text("\n".join(json.dumps({"text": t}) for t in (long_text, "short one here ok ."))
                    + "\n", encoding="utf8")
    corpus = JsonlCorpus(path, min_length=5, max_length=500)
    nlp = workbench.blank("en")
    lengths = [len(eg.reference) for eg in corpus(nlp)]
    assert lengths == [401, 500, 200, 5]  # cut after the sentence end, then at the limit
    assert corpus.counts == {"texts": 2, "split": 1, "too_short": 0, "longest": 1101}


def test_pretrain_says_why_a_corpus_gives_no_docs(tmp_path, capsys):
    from tests.helpers.sample import SAMPLE

    raw = tmp_path / "raw.jsonl"
    raw.write_text(json.dumps({"text": "Too short."}) + "\n", encoding="utf8")
    cfg = tmp_path / "pretrain.cfg"
    assert cli_main(["init", "fill-config", str(SAMPLE / "configs" / "shared.cfg"), str(cfg), "--pretraining"]) == 0
    code = cli_main(["pretrain", str(raw), str(tmp_path / "out"), str(cfg), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "has 1 texts but every doc" in err and "shorter than min_length = 5 tokens" in err and "longest text: 3" in err
