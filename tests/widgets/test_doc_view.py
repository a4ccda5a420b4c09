"""displaCy-style doc rendering: spans in the running text, tags under tokens, the try-it widget."""
import re
from pathlib import Path

import pytest

import workbench
from widgets.converters.doc_marks import assign_levels, doc_marks, label_color, tag_rows
from widgets.doc_view import DocView, TryText, doc_page, render_doc, save_doc_html, tag_table_html
from workbench.text.doc import Doc
from workbench.text.vocab import Vocab

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "sample_data" / "configs" / "shared.cfg"


def make_doc():
    words = ["Alice", "works", "for", "Acme", "Corp", "in", "Paris", "."]
    spaces = [True, True, True, True, True, True, False, False]
    pos = ["PROPN", "VERB", "ADP", "PROPN", "PROPN", "ADP", "PROPN", "PUNCT"]
    return Doc(Vocab(), words, spaces, pos=pos, ents=[(0, 1, "PER"), (3, 5, "ORG"), (6, 7, "LOC")])


def test_levels_put_overlapping_spans_on_separate_bars():
    assert assign_levels([(0, 3), (1, 2), (3, 4), (2, 5)]) == [0, 1, 0, 1]
    cells, marks = doc_marks(make_doc(), spans=[(3, 5, "ORG"), (4, 5, "ORG_SUFFIX"), (0, 1, "PER")])
    assert [(m.start, m.end, m.label, m.level) for m in marks] == [(0, 1, "PER", 0), (3, 5, "ORG", 0),
                                                                   (4, 5, "ORG_SUFFIX", 1)]
    assert cells[0].tags == (("pos", "PROPN"),)  # tag_ is set on no token: left out
    assert label_color("PER") == label_color("PER") and label_color("ORG") != label_color("PER")
    with pytest.raises(ValueError, match="outside the doc's 8 tokens"):
        doc_marks(make_doc(), spans=[(6, 9, "X")])


def test_render_shows_entities_in_running_text_with_labels_and_tags():
    out = render_doc(make_doc())
    assert "<script" not in out and "http" not in out  # no JavaScript, nothing loaded
    text = re.sub(r"<[^>]+>", " ", out)
    words = text.split()
    # the text reads in order, each label right after its span's first word, the tag under it
    assert words[:3] == ["LOC", "ORG", "PER"]  # the legend
    assert words[3:6] == ["Alice", "PER", "PROPN"]
    assert " ".join(words).count("PROPN") == 4
    assert 'title="ORG [3:5]"' in out and out.count('title="ORG [3:5]"') == 2  # one bar piece per token
    assert "display:inline-block" in out  # token columns wrap like words


def test_overlaps_long_docs_and_extra_rows():
    doc = make_doc()
    out = render_doc(doc, spans=[(0, 5, "CLAUSE"), (3, 5, "ORG")], extra_rows=["<svg id='arcs'></svg>"])
    assert 'title="CLAUSE [0:5]"' in out and 'title="ORG [3:5]"' in out
    assert "<svg id='arcs'></svg>" in out and "wb-doc-extra" in out
    long = Doc(Vocab(), ["word"] * 3000)
    cut = render_doc(long, max_tokens=200)
    assert cut.count("word</div>") == 200 and "2800 more tokens" in cut
    assert render_doc(long).count("word</div>") == 3000


def test_tag_table_and_export(tmp_path):
    rows = tag_rows(make_doc())
    assert rows[3] == {"i": 3, "text": "Acme", "pos": "PROPN", "tag": "", "spans": "B-ORG"}
    assert rows[4]["spans"] == "I-ORG"
    table = tag_table_html(make_doc())
    assert "<th style='text-align:left;padding:1px 8px'>tag</th>" not in table and "B-ORG" in table
    page = doc_page([make_doc(), make_doc()], title="two docs")
    assert page.startswith("<!DOCTYPE html>") and page.count('class="wb-doc"') == 2
    path = save_doc_html(make_doc(), tmp_path / "pred.html")
    assert "Paris" in path.read_text(encoding="utf8")
    assert "Alice" in DocView(make_doc()).value


def test_try_text_runs_a_pipeline():
    import datetime

    NOW = datetime.datetime.now(datetime.timezone.utc)
    nlp = workbench.Pipeline.from_config(workbench.Config().from_disk(SHARED, interpolate=False))
    from tests.helpers import tiny_examples

    examples = tiny_examples(nlp)
    nlp.initialize(lambda: examples)  # an untrained pipeline predicts something for any text
    box = TryText(nlp)
    assert box.view.value == ""
    box.run_button.click()
    assert "Type a text first" in box.status.value
    box.text.value = "Alice lives in Paris."
    box.run_button.click()
    assert box.doc is not None and len(box.doc) == 5
    assert "5 tokens" in box.status.value and "Paris" in box.view.value
    assert box.table.value == ""
    box.show_table.value = True  # one interaction: the view changes
    assert "<table" in box.table.value and "Paris" in box.table.value
    assert box.inspect_button.layout.display == "none"  # no transformer in this pipeline
    box.upload.value = ({"name": "t.txt", "type": "text/plain", "size": 9, "last_modified": NOW, "content": memoryview(b"Bob ran .")},)
    assert box.text.value == "Bob ran ." and len(box.doc) == 3
    box.upload.value = ({"name": "b.txt", "type": "text/plain", "size": 2, "last_modified": NOW, "content": memoryview(b"\xff\xfe")},)
    assert "not UTF-8" in box.status.value
