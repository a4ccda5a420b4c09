"""Dependency arcs (SVG rows, wrapping, labels) and the doc.cats bar chart; TryText shows arcs."""
import re

import pytest

from tests.pipeline.test_parser import PARSED, parsed_examples, shared_pipeline
from widgets.cats_view import CatsView, cats_figure, cats_svg
from widgets.converters.cats import cats_bars
from widgets.converters.dep_arcs import arc_rows
from widgets.deps_view import DepsView, render_arcs
from widgets.doc_view import TryText, render_doc
from workbench.text.doc import Doc
from workbench.text.syntax import sent_starts_from_heads
from workbench.text.vocab import Vocab

# "The cat sat on the mat ." : det<-cat, nsubj<-sat, root sat, case<-mat, det<-mat, obl<-sat, punct<-sat
WORDS = "The cat sat on the mat .".split()
HEADS = [1, 2, 2, 5, 5, 2, 2]
DEPS = "det nsubj root case det obl punct".split()


def parsed(n_copies=1):
    words, heads, deps = [], [], []
    for k in range(n_copies):
        words += WORDS
        heads += [h + k * len(WORDS) for h in HEADS]
        deps += DEPS
    doc = Doc(Vocab(), words=words, heads=heads, deps=deps, pos=["DET", "NOUN", "VERB", "ADP", "DET", "NOUN", "PUNCT"] * n_copies)
    doc.sent_starts = sent_starts_from_heads(heads)
    return doc


def test_arcs_one_per_dependent_nested_arcs_above_inner_ones():
    (row,) = arc_rows(parsed())
    arcs = {a.child: a for a in row.arcs}
    assert sorted(arcs) == [0, 1, 3, 4, 5, 6]  # every word but the root
    assert [w.root_label for w in row.words] == ["", "", "root", "", "", "", ""]
    assert arcs[0].label == "det" and arcs[0].towards == "left"  # The <- cat
    assert arcs[5].towards == "right" and arcs[6].towards == "right"
    # sat -> mat spans on <- mat and the <- mat: it sits above both; sat -> . spans it
    assert arcs[3].level == 2 and arcs[4].level == 1 and arcs[5].level == 3 and arcs[6].level == 4
    assert arcs[1].level == 1 and arcs[0].level == 1
    xs = [w.x for w in row.words]
    assert xs == sorted(xs) and arcs[0].x_start == xs[0] and arcs[0].x_end == xs[1]


def test_long_docs_wrap_and_cross_row_arcs_name_their_head():
    doc = parsed(3)
    rows = arc_rows(doc, max_width=900)
    assert len(rows) > 1 and all(r.width <= 900 for r in rows)
    assert sum(len(r.arcs) for r in rows) == len(doc) - 3  # three roots
    assert all(r.arcs == [] or all(a.side == "" for a in r.arcs) for r in rows)  # whole sentences per row
    narrow = arc_rows(doc, max_width=200)  # narrower than one sentence: sentences are cut
    assert all(r.width <= 200 for r in narrow)
    crossing = [a for r in narrow for a in r.arcs if a.side]
    assert crossing and all("\u2190 " + doc[a.head].text in a.label for a in crossing)
    assert sum(len(r.arcs) for r in narrow) == len(doc) - 3


def test_svg_has_arcs_labels_and_no_script():
    svgs = render_arcs(parsed(3), max_width=900)
    out = "".join(svgs)
    assert len(svgs) == len(arc_rows(parsed(3), max_width=900))
    assert out.count('class="wb-arc"') == 18 and "<script" not in out and "http" not in out
    labels = re.findall(r'<text[^>]*font-size="11.5"[^>]*>([^<]+)</text>', out)
    assert sorted(set(labels)) == ["case", "det", "nsubj", "obl", "punct"]
    assert DepsView(parsed()).value.count('class="wb-arc"') == 6
    assert render_arcs(Doc(Vocab(), words=["no", "parse"])) == []
    html = render_doc(parsed(), extra_rows=render_arcs(parsed()))
    assert html.count('class="wb-arc"') == 6


def test_try_text_draws_arcs_for_a_parsing_pipeline():
    nlp = shared_pipeline(("parser",))
    nlp.initialize(lambda: iter(parsed_examples(nlp)))  # untrained: still a tree per sentence
    box = TryText(nlp)
    doc = box.run(" ".join(t for t, *_ in PARSED[:2]))
    n_roots = sum(t.head.i == t.i for t in doc)
    assert box.view.value.count('class="wb-arc"') == len(doc) - n_roots
    assert box.view.value.count('class="wb-deps"') >= 1


def test_cats_bars_order_and_checks():
    assert cats_bars({"b": 0.2, "a": 0.7, "c": 0.2}) == [("a", 0.7, None), ("b", 0.2, None), ("c", 0.2, None)]
    assert cats_bars({"b": 0.2, "a": 0.7}, gold={"b": 1.0}, top=1) == [("a", 0.7, 0.0)]
    doc = Doc(Vocab(), words=["hi"])
    doc.cats = {"email": 0.9, "reviews": 0.1}
    assert cats_bars(doc)[0][0] == "email"
    with pytest.raises(ValueError, match=r"cats\['x'\] = 2.*from 0 to 1"):
        cats_bars({"x": 2})


def test_cats_figure_draws_one_bar_per_category():
    cats = {"answers": 0.1, "email": 0.55, "newsgroup": 0.05, "reviews": 0.2, "weblog": 0.1}
    fig = cats_figure(cats, gold={"email": 1.0})
    ax = fig.axes[0]
    assert len(ax.patches) == 5
    assert [round(p.get_width(), 2) for p in ax.patches] == [0.55, 0.2, 0.1, 0.1, 0.05]
    top = max(zip(ax.get_yticks(), ax.get_yticklabels()), key=lambda t: t[0])[1]
    assert top.get_text() == "email \u2713"  # best on top, gold ticked
    assert fig.get_figwidth() <= 7  # fits the notebook's width
    assert min(t.get_fontsize() for t in ax.get_yticklabels()) >= 10
    svg = cats_svg(cats)
    assert svg.startswith("<svg") and "<script" not in svg
    assert CatsView(cats).value[:4] == b"\x89PNG"
    assert cats_figure({}).axes[0].texts[0].get_text() == "no categories"


def test_layout_of_the_long_pipeline_covers_parser_and_textcat():
    from widgets.converters.layout import layout_data
    from workbench.commands import build_init_config

    data = layout_data(build_init_config(["tagger", "parser", "ner", "textcat"], shared=True).to_str())
    listeners = sorted(n["component"] for n in data["nodes"] if n["kind"] == "listener")
    assert listeners == ["ner", "parser", "tagger", "textcat"]
    assert sum(e["kind"] == "listens" for e in data["edges"]) == 4
    assert all(data["params"]["by_component"][name] > 0 for name in ("parser", "textcat"))
