"""Span getters, wordpiece measuring, splitting of long spans and the truncation report."""
import warnings

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.trf import MAX_POSITIONS, tiny_bert_path
from workbench.errors import ConfigError
from workbench.models.transformer.alignment import windows_of_token
from workbench.models.transformer.model import TransformerModel
from workbench.models.transformer.span_getters import doc_spans, sent_spans, strided_spans
from workbench.models.transformer.windows import TruncationWarning
from workbench.text.doc import Doc
from workbench.text.vocab import Vocab

VOCAB = Vocab()
LIMIT = MAX_POSITIONS - 2  # wordpieces per window besides [CLS] and [SEP]


def make(words, **kwargs):
    return Doc(VOCAB, words=words, **kwargs)


def model_with(get_spans, **kwargs):
    model = TransformerModel(str(tiny_bert_path()), get_spans=get_spans, **kwargs)
    model.initialize()
    return model


def n_pieces(model, text):
    return len(model.attrs["tokenizer"](text, add_special_tokens=False)["input_ids"])


# ------------------------------------------------------------------ getters


def test_doc_spans():
    docs = [make("a b c".split()), make(["x"]), Doc(VOCAB, words=[])]
    spans = doc_spans()(docs)
    assert [[(s.start, s.end) for s in doc] for doc in spans] == [[(0, 3)], [(0, 1)], []]
    assert spans[0][0].doc is docs[0]


def test_sent_spans_follow_boundaries():
    doc = make("A b . C d e . F".split(), sent_starts=[True, False, False, True, False, False, False, True])
    spans = sent_spans()([doc, make("no bounds here".split())])
    assert [(s.start, s.end) for s in spans[0]] == [(0, 3), (3, 7), (7, 8)]
    assert [(s.start, s.end) for s in spans[1]] == [(0, 3)]


@given(n=st.integers(0, 60), window=st.integers(1, 20), data=st.data())
@settings(max_examples=80, deadline=None)
def test_strided_spans_cover_every_token(n, window, data):
    stride = data.draw(st.integers(1, window))
    doc = make(["w"] * n)
    spans = strided_spans(window, stride)([doc])[0]
    covered = numpy.zeros(n, int)
    for k, sp in enumerate(spans):
        assert 0 < len(sp) <= window
        assert sp.start == k * stride
        covered[sp.start:sp.end] += 1
    assert (covered >= 1).all()
    if n:
        assert spans[-1].end == n
        assert all(sp.end < n for sp in spans[:-1])
    else:
        assert spans == []


@pytest.mark.parametrize("window,stride", [(0, 1), (4, 0), (4, 5), (2.5, 1)])
def test_strided_spans_reject_bad_sizes(window, stride):
    with pytest.raises(ConfigError):
        strided_spans(window, stride)


def test_bad_getter_output_is_a_config_error():
    model = model_with(lambda docs: [])
    with pytest.raises(ConfigError, match="one list of Spans per doc"):
        model.predict([make(["cat"])])
    other = make(["dog"])
    model = model_with(lambda docs: [[other[0:1]] for _ in docs])
    with pytest.raises(ConfigError, match="belongs to another doc"):
        model.predict([make(["cat"])])


# ------------------------------------------------------------------ measuring in wordpieces


def long_doc(n_tokens: int) -> Doc:
    # "zebra" -> z ##e ##b ##r ##a : 5 wordpieces per token, "cat" -> 1
    words = ["zebra" if i % 3 else "cat" for i in range(n_tokens)]
    return make(words)


def test_long_span_is_split_at_token_boundaries_and_reported():
    model = model_with(doc_spans())
    doc = long_doc(60)  # 40 * 5 + 20 = 220 wordpieces > 62
    total = n_pieces(model, doc.text)
    assert total == 220
    with pytest.warns(TruncationWarning, match="split at token boundaries") as record:
        batch = model.predict([doc, make("the cat sat".split())])
    assert len([r for r in record if issubclass(r.category, TruncationWarning)]) == 1  # once per batch
    assert len(batch.truncated) == 1
    entry = batch.truncated[0]
    assert entry["doc"] == 0 and entry["span"] == 0 and entry["n_wordpieces"] == 220
    assert entry["limit"] == LIMIT and entry["dropped_wordpieces"] == 0 and entry["truncated_tokens"] == []
    data = batch.doc_data[0]
    assert entry["n_windows"] == len(data.spans) >= 4
    assert data.truncated == [entry] and batch.doc_data[1].truncated == []
    # consecutive windows, each within the model's limit, nothing dropped
    assert data.spans[0][0] == 0 and data.spans[-1][1] == 60
    assert (data.spans[1:, 0] == data.spans[:-1, 1]).all()
    assert (data.wordpieces.lengths <= MAX_POSITIONS).all()
    n_real = int((~data.wordpieces.special_mask).sum())
    assert n_real == total
    assert (data.span_sources == 0).all()
    # a token's pieces never straddle a window boundary; every token aligned in one window
    row_window = data.wordpieces.row_window
    for i, wins in enumerate(windows_of_token(data.align, row_window)):
        assert len(wins) == 1, f"token {i} is in windows {wins}"
    assert data.unaligned_tokens.tolist() == []


def test_windows_match_unsplit_tokenization_piece_for_piece():
    model = model_with(doc_spans())
    doc = long_doc(45)
    with pytest.warns(TruncationWarning):
        data = model.predict([doc]).doc_data[0]
    tokenizer = model.attrs["tokenizer"]
    whole = tokenizer(doc.text, add_special_tokens=False)["input_ids"]
    ids = data.wordpieces.input_ids[data.wordpieces.attention_mask.astype(bool)]
    ids = ids[~data.wordpieces.special_mask]
    assert ids.tolist() == whole


def test_single_token_over_the_limit_is_truncated_and_reported():
    model = model_with(sent_spans())
    giant = "z" * 100  # z + 99 ##z = 100 wordpieces
    doc = make(["cat", giant, "sat"], sent_starts=[True, False, False])
    with pytest.warns(TruncationWarning, match="lost 38 wordpieces"):
        batch = model.predict([doc])
    entry = batch.truncated[0]
    assert entry["n_wordpieces"] == 102 and entry["truncated_tokens"] == [1]
    assert entry["dropped_wordpieces"] == 100 - LIMIT
    data = batch.doc_data[0]
    assert [tuple(s) for s in data.spans] == [(0, 1), (1, 2), (2, 3)]
    assert data.align.lengths.tolist() == [1, LIMIT, 1]


def test_short_spans_are_not_reported():
    model = model_with(sent_spans())
    doc = make("the cat sat . the dog ran".split(), sent_starts=[True, False, False, False, True, False, False])
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        batch = model.predict([doc])
    assert batch.truncated == []
    assert [tuple(s) for s in batch.doc_data[0].spans] == [(0, 4), (4, 7)]


def test_lowering_model_max_length_shrinks_windows():
    model = model_with(doc_spans(), tokenizer_config={"use_fast": True, "model_max_length": 16})
    assert model.attrs["max_length"] == 16
    with pytest.warns(TruncationWarning):
        data = model.predict([long_doc(12)]).doc_data[0]
    assert (data.wordpieces.lengths <= 16).all() and len(data.spans) > 1


# ------------------------------------------------------------------ overlapping windows


def test_overlapping_windows_average_the_overlap():
    model = model_with(strided_spans(window=6, stride=4))
    doc = make("the cat sat on the big red mat and the dog ran".split())
    data = model.predict([doc]).doc_data[0]
    assert [tuple(s) for s in data.spans] == [(0, 6), (4, 10), (8, 12)]
    row_window = data.wordpieces.row_window
    wins = windows_of_token(data.align, row_window)
    assert [len(w) for w in wins] == [1, 1, 1, 1, 2, 2, 1, 1, 2, 2, 1, 1]
    X = data.tensors[-1]
    rows = numpy.asarray(data.align.dataXd).reshape(-1)
    bounds = numpy.concatenate([[0], numpy.cumsum(data.align.lengths)])
    vectors = data.token_vectors("mean")
    for i in (4, 5, 8, 9):  # tokens in two windows: the mean of each window's vector
        mine = rows[bounds[i]:bounds[i + 1]]
        per_window = [X[mine[row_window[mine] == w]].mean(axis=0) for w in wins[i]]
        numpy.testing.assert_allclose(vectors[i], numpy.mean(per_window, axis=0), rtol=1e-5, atol=1e-6)
        # ... and the two windows really saw different contexts
        assert not numpy.allclose(per_window[0], per_window[1])
