"""TrfInspector and its converters, on synthetic TransformerData and on a tiny BERT."""
import numpy
import pytest
from thinc.types import Ragged

import workbench
from tests.helpers.trf import tiny_bert_pipeline
from widgets.converters.trf import (
    alignment_matrix,
    head_summary,
    n_layers_heads,
    window_attention,
    word_attention,
    wordpiece_attention,
)
from widgets.trf_inspector import TrfInspector, alignment_figure, attention_figure
from workbench.models.transformer.data import TransformerData, WordpieceData

TOKENS = ["a", "bb", "c", "d"]
# window 0: [CLS] a b ##b c [SEP]   rows 0-5   (tokens 0-2)
# window 1: [CLS] c d [SEP]         rows 6-9   (tokens 2-3): token 2 "c" is in both
PIECES = [["[CLS]", "a", "b", "##b", "c", "[SEP]"], ["[CLS]", "c", "d", "[SEP]"]]
ROWS = [[1], [2, 3], [4, 7], [8]]
SPECIAL_ROWS = [0, 5, 6, 9]


def synthetic(n_layers=2, heads=3, seed=0, truncated=()):
    rng = numpy.random.default_rng(seed)
    lengths = numpy.array([6, 4], dtype=numpy.int32)
    attentions = []
    for _ in range(n_layers):
        layer = numpy.zeros((2, heads, 6, 6), dtype=numpy.float32)
        for k, n in enumerate(lengths):
            layer[k, :, :n, :n] = rng.dirichlet(numpy.ones(n), size=(heads, n))
        attentions.append(layer)
    special = numpy.zeros(10, dtype=bool)
    special[SPECIAL_ROWS] = True
    wp = WordpieceData(
        strings=PIECES, input_ids=numpy.zeros((2, 6), dtype=numpy.int32),
        attention_mask=(numpy.arange(6)[None, :] < lengths[:, None]).astype(numpy.int8),
        lengths=lengths, special_mask=special,
    )
    align = Ragged(numpy.array([r for rows in ROWS for r in rows], dtype=numpy.int32),
                   numpy.array([len(r) for r in ROWS], dtype=numpy.int32))
    return TransformerData(
        wordpieces=wp, tensors=[numpy.zeros((10, 4), dtype=numpy.float32)], align=align,
        spans=numpy.array([[0, 3], [2, 4]]), span_sources=numpy.array([0, 1]),
        truncated=list(truncated), attentions=attentions,
    )


def expected_word_matrix(data, layer, head, to="sum"):
    """The merge written out with loops: an independent implementation to check against."""
    starts = [0, 6]
    n = len(ROWS)
    total = numpy.zeros((n, n))
    count = numpy.zeros((n, n))
    for k in range(2):
        A = data.attentions[layer][k, head]
        lo, hi = starts[k], starts[k] + data.wordpieces.lengths[k]
        inside = {t: [r - lo for r in ROWS[t] if lo <= r < hi] for t in range(n)}
        for i in range(n):
            for j in range(n):
                if inside[i] and inside[j]:
                    cols = [sum(A[r, c] for c in inside[j]) for r in inside[i]]
                    value = numpy.mean(cols) if to == "sum" else numpy.mean(cols) / len(inside[j])
                    total[i, j] += value
                    count[i, j] += 1
    with numpy.errstate(invalid="ignore"):
        return numpy.where(count > 0, total / numpy.maximum(count, 1), numpy.nan)


# ------------------------------------------------------------------ alignment


def test_alignment_matrix_on_synthetic_data():
    data = synthetic(truncated=[{"doc": 0, "span": 0, "start": 0, "end": 3, "n_wordpieces": 9, "limit": 8,
                                 "n_windows": 1, "dropped_wordpieces": 2, "truncated_tokens": [1]}])
    a = alignment_matrix(data, TOKENS)
    assert a["matrix"].shape == (4, 10)
    assert [list(numpy.flatnonzero(row)) for row in a["matrix"]] == ROWS
    assert a["wordpieces"] == PIECES[0] + PIECES[1]
    assert list(a["row_window"]) == [0] * 6 + [1] * 4
    assert a["window_rows"] == [(0, 6), (6, 10)]
    assert a["window_tokens"] == [(0, 3), (2, 4)]
    assert list(a["special_rows"]) == SPECIAL_ROWS
    assert a["overlap_tokens"] == [2]
    assert a["unaligned_tokens"] == []
    assert a["truncated_tokens"] == [1] and a["truncated_rows"] == [3]  # the last piece kept of "bb"
    assert a["tokens"] == TOKENS and a["n_windows"] == 2
    assert not a["matrix"][:, SPECIAL_ROWS].any()  # special pieces are never aligned


def test_converters_refuse_docs_without_trf_data():
    nlp = workbench.blank("en")
    with pytest.raises(ValueError, match="no transformer output"):
        alignment_matrix(nlp("no transformer here"))


# ------------------------------------------------------------------ attention


def test_wordpiece_attention_doc_and_window():
    data = synthetic()
    one = wordpiece_attention(data, layer=1, head=2, window=1)
    assert one["matrix"].shape == (4, 4)
    numpy.testing.assert_allclose(one["matrix"], data.attentions[1][1, 2, :4, :4])
    assert one["labels"] == PIECES[1] and list(one["rows"]) == [6, 7, 8, 9]
    assert list(one["special"]) == [True, False, False, True]
    doc = wordpiece_attention(data, layer=0, head=0)
    M = doc["matrix"]
    assert M.shape == (10, 10)
    numpy.testing.assert_allclose(M[:6, :6], data.attentions[0][0, 0])
    numpy.testing.assert_allclose(M[6:, 6:], data.attentions[0][1, 0, :4, :4])
    assert numpy.isnan(M[:6, 6:]).all() and numpy.isnan(M[6:, :6]).all()  # windows never attend across
    numpy.testing.assert_allclose(numpy.nansum(M, axis=1), 1.0, rtol=1e-5)


def test_summaries_over_heads_and_layers():
    data = synthetic()
    stack = numpy.stack(data.attentions)  # (layers, windows, heads, L, L)
    numpy.testing.assert_allclose(window_attention(data, "mean", 1), stack[:, :, 1].mean(0), rtol=1e-6)
    numpy.testing.assert_allclose(window_attention(data, 0, "max"), stack[0].max(1), rtol=1e-6)
    numpy.testing.assert_allclose(window_attention(data, "max", "mean"), stack.max(0).mean(1), rtol=1e-6)
    with pytest.raises(IndexError, match="2 layers"):
        window_attention(data, 5, 0)
    with pytest.raises(ValueError, match="mean, max"):
        window_attention(data, "median", 0)


@pytest.mark.parametrize("layer, head", [(0, 0), (1, 2), ("mean", "max")])
@pytest.mark.parametrize("to", ["sum", "mean"])
def test_word_attention_merges_through_the_alignment(layer, head, to):
    data = synthetic()
    w = word_attention(data, layer, head, to=to, tokens=TOKENS)
    if isinstance(layer, str):  # check the summary through a data object holding it as layer 0, head 0
        summary = window_attention(data, layer, head)[:, None]  # (windows, 1 head, L, L)
        data = synthetic()
        data.attentions = [summary]
        layer, head = 0, 0
    expected = expected_word_matrix(data, layer, head, to)
    numpy.testing.assert_allclose(w["matrix"], expected, rtol=1e-5)
    assert w["tokens"] == TOKENS
    # tokens 0/1 and 3 share no window: no attention between them
    assert numpy.isnan(w["matrix"][0, 3]) and numpy.isnan(w["matrix"][3, 1])
    assert w["windows_shared"][2, 2] == 2 and w["windows_shared"][0, 1] == 1


def test_word_attention_rows_plus_special_share_sum_to_one():
    data = synthetic(seed=3)
    w = word_attention(data, 1, 0)
    # a token in one window: its row over the words of that window + attention to specials = 1
    for t in (0, 1, 3):
        numpy.testing.assert_allclose(numpy.nansum(w["matrix"][t]) + w["special_share"][t], 1.0, rtol=1e-5)


def test_word_attention_all_to_cls():
    data = synthetic()
    for layer in data.attentions:
        layer[:] = 0.0
        layer[:, :, :, 0] = 1.0  # every piece attends to [CLS] only
    w = word_attention(data, 0, 0)
    assert numpy.nanmax(w["matrix"]) == 0.0
    numpy.testing.assert_allclose(w["special_share"], 1.0)


def test_word_attention_one_window():
    data = synthetic()
    w = word_attention(data, 0, 1, window=1, tokens=TOKENS)
    assert w["tokens"] == ["c", "d"] and list(w["token_ids"]) == [2, 3]
    assert not numpy.isnan(w["matrix"]).any()
    A = data.attentions[0][1, 1]
    assert w["matrix"][1, 0] == pytest.approx(A[2, 1], rel=1e-5)  # d -> c inside window 1 only


def test_head_summary():
    data = synthetic()
    s = head_summary(data, window=0)
    assert s["entropy"].shape == (2, 3) and s["special_share"].shape == (2, 3)
    assert (s["entropy"] > 0).all() and (s["entropy"] <= numpy.log(6) + 1e-6).all()
    assert n_layers_heads(data) == (2, 3)


def test_no_attentions_kept():
    data = synthetic()
    data.attentions = None
    assert n_layers_heads(data) == (0, 0)
    with pytest.raises(ValueError, match="output_attentions = true"):
        word_attention(data, 0, 0)
    inspector = TrfInspector(data, tokens=TOKENS)
    assert "output_attentions" in inspector.caption.value
    assert inspector.alignment_image.value[:4] == b"\x89PNG"


# ------------------------------------------------------------------ renderers and widget


def test_figures_hold_the_data():
    data = synthetic()
    a = alignment_matrix(data, TOKENS)
    fig = alignment_figure(a)
    ax = fig.axes[0]
    numpy.testing.assert_array_equal(ax.images[0].get_array(), a["matrix"].astype(float))
    assert [t.get_text() for t in ax.get_yticklabels()] == TOKENS
    assert ax.get_yticklabels()[2].get_color() == "#c05f00"  # the overlap token is marked
    w = word_attention(data, 0, 0, tokens=TOKENS)
    fig = attention_figure(w, "word")
    img = fig.axes[0].images[0].get_array()
    numpy.testing.assert_allclose(img.filled(numpy.nan), w["matrix"], rtol=1e-6)
    assert "layer 0, head 0" in fig.axes[0].get_title()


def test_inspector_controls_change_the_view(tmp_path):
    data = synthetic()
    ins = TrfInspector(data, tokens=TOKENS)
    assert ins.window.value == 0  # more than one window: start on the first
    assert ins.layer.max == 1 and ins.layer.value == 1
    assert list(ins.head.options) == [0, 1, 2, "mean", "max"]
    first = ins.attention_image.value
    assert ins.attention["tokens"] == ["a", "bb", "c"]
    ins.head.value = 2
    assert ins.attention["head"] == 2 and ins.attention_image.value != first
    assert "head 2" in ins.caption.value
    ins.layer_summary.value = "mean"
    assert ins.attention["layer"] == "mean" and ins.layer.disabled
    assert "mean over layers" in ins.caption.value
    ins.level.value = "wordpiece"
    assert ins.hide_special.value  # [CLS] and [SEP] are left out by default
    assert ins.attention["labels"] == [p for p in PIECES[0] if p not in ("[CLS]", "[SEP]")]
    rows = numpy.nansum(ins.attention["matrix"], axis=1)
    numpy.testing.assert_allclose(rows[rows > 0], 1.0, rtol=1e-5)  # renormalized without the specials
    ins.hide_special.value = False
    assert ins.attention["labels"] == PIECES[0]
    ins.window.value = "all"
    assert ins.attention["matrix"].shape == (10, 10)
    # the entropy panel has a colour bar and marks what is shown (mean over layers, head 2)
    heads = ins.figures["heads"]
    assert len(heads.axes) == 2 and "entropy" in heads.axes[1].get_ylabel()
    (box,) = [p for p in heads.axes[0].patches]
    assert (box.get_x(), box.get_width(), box.get_height()) == (1.5, 1, 2)
    assert heads.axes[0].xaxis.label.get_fontsize() >= 10
    # hover values: a table whose cells carry their value
    ins.view_mode.value = "hover values"
    assert ins.table_view.value.count("<td title=") == 100 and ins.attention_image.layout.display == "none"
    assert "\u2192" in ins.table_view.value or "→" in ins.table_view.value
    ins.view_mode.value = "image"
    assert ins.table_view.value == "" and ins.attention_image.layout.display is None
    for fmt in ("png", "svg"):
        path = ins.export(tmp_path / f"view.{fmt}", view="attention")
        assert path.exists() and path.stat().st_size > 1000
    assert (tmp_path / "view.svg").read_text().lstrip().startswith("<svg")
    html_path = ins.export(tmp_path / "all.html")
    page = html_path.read_text()
    assert page.count("<svg") == 2 and "<script" not in page and 'src="http' not in page
    ins.filename.value = str(tmp_path / "clicked")
    ins.format.value = "png"
    ins.export_button.click()
    assert (tmp_path / "clicked.png").exists() and "Saved" in ins.status.value


# ------------------------------------------------------------------ a real (tiny) transformer


@pytest.fixture(scope="module")
def tiny_trf_doc():
    nlp = tiny_bert_pipeline("""output_attentions = true

[components.transformer.model.get_spans]
@span_getters = "workbench.strided_spans.v1"
window = 12
stride = 8""")
    return nlp("Alice visited Paris and London . The cats walked in the big red house , running . Bob ran .")


def test_tiny_bert_doc(tiny_trf_doc):
    doc = tiny_trf_doc
    data = doc._.trf_data
    a = alignment_matrix(doc)
    assert a["tokens"] == list(doc.words)
    assert a["n_windows"] == len(data.spans) >= 2
    assert a["overlap_tokens"]  # stride < window: overlapping windows
    n_layers, n_heads = n_layers_heads(doc)
    assert (n_layers, n_heads) == (2, 2)
    w = word_attention(doc, "mean", "mean")
    assert w["matrix"].shape == (len(doc), len(doc))
    single = [t for t in range(len(doc)) if t not in a["overlap_tokens"]]
    rows = numpy.nansum(w["matrix"][single], axis=1) + w["special_share"][single]
    numpy.testing.assert_allclose(rows, 1.0, rtol=1e-4)
    ins = TrfInspector(doc)
    before = ins.attention_image.value
    ins.layer.value = 0
    assert ins.attention_image.value != before
    ins.window.value = "all"
    assert ins.attention["matrix"].shape == (len(doc), len(doc))


def test_tiny_bert_truncated_token_is_flagged():
    import warnings

    config_nlp = tiny_bert_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = config_nlp("the cat " + "x" * 80 + " sat")
    a = alignment_matrix(doc)
    assert a["truncated_tokens"] == [2]
    assert a["truncated_rows"] == [int(numpy.flatnonzero(a["matrix"][2])[-1])]
    ins = TrfInspector(doc)
    ins.window.value = "all"
    assert "truncated" in ins.notes.value
    labels = [t.get_text() for t in ins.figures["alignment"].axes[0].get_yticklabels()]
    assert labels[2].endswith("(cut)")
    ins.export("/tmp/wb_trunc.png", view="alignment")


def test_try_text_on_a_transformer_pipeline_opens_the_inspector_on_its_doc():
    from widgets.doc_view import TryText

    nlp = tiny_bert_pipeline("output_attentions = true")
    box = TryText(nlp, "Alice visited Paris .")
    assert box.has_transformer and box.inspect_button.layout.display != "none"
    assert box.inspector_box.children == ()
    box.inspect_button.click()  # one interaction: the inspector opens below, on this doc
    (inspector,) = box.inspector_box.children
    assert isinstance(inspector, TrfInspector) and inspector.alignment["tokens"] == ["Alice", "visited", "Paris", "."]
    assert inspector.attention_image.value[:4] == b"\x89PNG"
    box.run("Bob ran .")  # a new text closes the old doc's inspector
    assert box.inspector_box.children == ()
    assert box.inspect().alignment["tokens"] == ["Bob", "ran", "."]
