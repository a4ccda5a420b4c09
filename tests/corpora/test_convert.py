"""convert: CoNLL-U / IOB -> annotated JSONL, and merging a CoNLL-U + IOB pair."""
import json
from pathlib import Path

import pytest

from workbench.corpora.convert import convert, format_convert_report
from workbench.errors import ConfigError, DataError
from workbench.text.doc import Doc
from workbench.text.vocab import Vocab

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
EWT_DEV = DATA / "ud-ewt" / "en_ewt-ud-dev.conllu"
UNER_DEV = DATA / "uner-ewt" / "en_ewt-ud-dev.iob2"


def row(i, form, xpos="XX", misc="_"):
    return "\t".join([str(i), form, form.lower(), "X", xpos, "_", "0", "dep", "_", misc])


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


CONLLU = ["# sent_id = s1", "# text = Jo left.", row(1, "Jo", "NNP"),
          row(2, "left", "VBD", "SpaceAfter=No"), row(3, ".", "."), "",
          "# sent_id = s2", "# text = See #news now", row(1, "See"), row(2, "#news"),
          row(3, "now"), "",
          "# sent_id = s3", row(1, "In"), row(2, "New"), row(3, "York"), ""]
IOB = ["# sent_id = s3", "1\tIn\tO", "2\tNew\tB-LOC", "3\tYork\tI-LOC", "",
       "# sent_id = s1", "1\tJo\tB-PER", "2\tleft\tO", "3\t.\tO", "",
       "# sent_id = s2", "1\tSee\tO", "2\t#\tB-ORG", "3\tnews\tI-ORG", "4\tnow\tO", ""]


def test_convert_conllu_to_jsonl_loads_as_docs(tmp_path):
    out = tmp_path / "out.jsonl"
    summary = convert([write(tmp_path, "a.conllu", CONLLU)], out)
    assert (summary["docs"], summary["sentences"], summary["words"], summary["entities"]) == (3, 3, 9, 0)
    assert summary["warnings"] == [] and summary["output"] == str(out)
    docs = [Doc.from_json(Vocab(), d) for d in read_jsonl(out)]
    assert docs[0].text == "Jo left." and docs[0].tags == ["NNP", "VBD", "."]
    assert "3 docs, 3 sentences, 9 words, 0 entities" in format_convert_report(summary)


def test_convert_groups_n_sents_and_concatenates_inputs(tmp_path):
    out = tmp_path / "out.jsonl"
    summary = convert([write(tmp_path, "a.conllu", CONLLU), write(tmp_path, "b.iob2", IOB)],
                      out, n_sents=2)
    assert (summary["docs"], summary["sentences"], summary["entities"]) == (4, 6, 3)
    docs = read_jsonl(out)
    assert docs[0]["sent_starts"] == [True, False, False, True, False, False]
    assert docs[2]["ents"] == [[1, 3, "LOC"], [3, 4, "PER"]]


def test_merge_pairs_by_sent_id_and_aligns_by_characters(tmp_path):
    out = tmp_path / "merged.jsonl"
    summary = convert([write(tmp_path, "a.conllu", CONLLU), write(tmp_path, "b.iob2", IOB)],
                      out, merge=True)
    assert (summary["docs"], summary["entities"]) == (3, 3)
    docs = read_jsonl(out)
    assert docs[0]["ents"] == [[0, 1, "PER"]] and docs[0]["tags"] == ["NNP", "VBD", "."]
    assert docs[1]["words"] == ["See", "#news", "now"]  # CoNLL-U words kept
    assert docs[1]["ents"] == [[1, 2, "ORG"]]  # '# news' mapped onto '#news' by characters
    assert docs[2]["ents"] == [[1, 3, "LOC"]]
    assert len(summary["warnings"]) == 1
    assert "a.conllu:7: warning: sentence s2 (" in summary["warnings"][0]
    assert "b.iob2:11)" in summary["warnings"][0]


def test_merge_reports_word_and_sentence_mismatches_and_writes_nothing(tmp_path):
    iob = [line.replace("\tJo\t", "\tJoe\t") for line in IOB[:10]]  # s2 missing, s1 differs
    iob += ["# sent_id = s9", "1\tExtra\tO", ""]
    out = tmp_path / "merged.jsonl"
    with pytest.raises(DataError) as err:
        convert([write(tmp_path, "a.conllu", CONLLU), write(tmp_path, "b.iob", iob)], out,
                merge=True)
    msg = str(err.value)
    assert "3 error(s)" in msg
    assert "a.conllu:3: sentence s1 (" in msg and "b.iob:6): words differ at word 1: 'Jo' here, " \
        "'Joe' at " in msg and "b.iob:7" in msg
    assert "a.conllu:7: sentence s2 has no matching sentence in" in msg
    assert "b.iob:11: sentence s9 has no matching sentence in" in msg
    assert not out.exists() and not (tmp_path / "merged.jsonl.tmp").exists()


def test_merge_by_position_without_sent_ids(tmp_path):
    conllu = [row(1, "Hi"), "", row(1, "Bo"), "", row(1, "extra"), ""]
    iob = ["Hi\tO", "", "Bo\tU-PER", ""]
    with pytest.raises(DataError, match=r"a\.conllu:5: sentence \(no sent_id\) has no matching"):
        convert([write(tmp_path, "a.conllu", conllu), write(tmp_path, "b.iob", iob)],
                tmp_path / "o.jsonl", merge=True)
    summary = convert([write(tmp_path, "a.conllu", conllu[:4]), tmp_path / "b.iob"],
                      tmp_path / "o.jsonl", merge=True)
    assert summary["entities"] == 1 and read_jsonl(tmp_path / "o.jsonl")[1]["ents"] == [[0, 1, "PER"]]


def test_merge_entity_off_word_boundaries_is_an_error(tmp_path):
    conllu = ["# sent_id = a", row(1, "#news"), ""]
    iob = ["# sent_id = a", "1\t#\tB-ORG", "2\tnews\tO", ""]
    with pytest.raises(DataError, match=r"b\.iob:2: sentence a: ORG entity '#' does not start and end"):
        convert([write(tmp_path, "a.conllu", conllu), write(tmp_path, "b.iob", iob)],
                tmp_path / "o.jsonl", merge=True)


def test_merge_needs_one_conllu_and_one_iob(tmp_path):
    a = write(tmp_path, "a.conllu", CONLLU)
    with pytest.raises(ConfigError, match="merge needs one CoNLL-U file and one IOB"):
        convert([a, a], tmp_path / "o.jsonl", merge=True)
    with pytest.raises(DataError, match="cannot read sentences from format jsonl"):
        convert([write(tmp_path, "x.jsonl", ['{"words": ["a"]}'])], tmp_path / "o.jsonl")


@pytest.mark.skipif(not (EWT_DEV.exists() and UNER_DEV.exists()),
                    reason=f"real data missing: needs {EWT_DEV} and {UNER_DEV}")
def test_merge_real_ewt_dev_with_uner(tmp_path):
    out = tmp_path / "ewt-dev.jsonl"
    summary = convert([EWT_DEV, UNER_DEV], out, merge=True)
    assert summary["docs"] == 2001 and summary["sentences"] == 2001
    assert summary["entities"] == 966 and summary["words"] == 25147
    assert len(summary["warnings"]) == 3  # 3 sentences tokenized differently by UNER
    assert all("tokenization differs" in w for w in summary["warnings"])
    docs = read_jsonl(out)
    assert len(docs) == 2001
    assert docs[0]["text"] == "From the AP comes this story :"
    assert docs[0]["ents"] == [[2, 3, "ORG"]] and docs[0]["pos"][2] == "PROPN"
    labels = [e[2] for d in docs for e in d["ents"]]
    assert (labels.count("LOC"), labels.count("PER"), labels.count("ORG")) == (399, 343, 224)
    summary10 = convert([EWT_DEV, UNER_DEV], out, merge=True, n_sents=10)
    assert summary10["docs"] == 201 and summary10["entities"] == 966
