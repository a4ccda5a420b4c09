"""The transition-based NER model (workbench.models.parser) and its BILUO moves."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from thinc.api import (
    Adam,
    HashEmbed,
    Maxout,
    Model,
    chain,
    expand_window,
    fix_random_seed,
    with_array,
)

from workbench.errors import ConfigError, DataError, ShapeError
from workbench.models.ner_moves import MISSING, B, BiluoMoves, I, L, O, U, get_moves
from workbench.models.parser import (
    FEATURE_SLOTS,
    TransitionBasedParser,
    TransitionBasedParserV2,
    add_label,
    feature_index,
    get_labels,
    get_ner_moves,
    greedy_decode,
    initialize_ner,
    is_initialized,
    set_labels,
    update_ner,
)
from workbench.text import Doc, Vocab
from workbench.text.biluo import spans_to_biluo

LABELS = ["PER", "ORG", "LOC"]


# -- helpers -----------------------------------------------------------------------


def FakeTok2Vec(width: int) -> Model:
    """Stand-in tok2vec: its "docs" are already (n_tokens, width) arrays.

    It records the gradients it receives, so tests can check them.
    """

    def forward(model, Xs, is_train):
        def backprop(dXs):
            model.attrs["dXs"] = dXs
            return []

        return [x for x in Xs], backprop

    return Model("fake_tok2vec", forward, dims={"nO": width}, attrs={"dXs": None})


def OrthTok2Vec(width: int = 32) -> Model:
    """A small trainable tok2vec over real Docs: hash embedding of ORTH + a window layer."""

    def ids(model, docs, is_train):
        return [doc.to_array("ORTH") for doc in docs], lambda d: []

    return chain(
        Model("orth_ids", ids),
        with_array(chain(HashEmbed(width, 500), expand_window(1), Maxout(width, width * 3, nP=2))),
    )


def random_docs(rng, n_docs, width, max_len=12, min_len=0):
    return [
        rng.standard_normal((int(rng.integers(min_len, max_len + 1)), width)).astype("float32")
        for _ in range(n_docs)
    ]


def random_spans(rng, n, labels=LABELS):
    spans, i = [], 0
    while i < n:
        if rng.random() < 0.3:
            size = int(rng.integers(1, 4))
            if i + size <= n:
                spans.append((i, i + size, labels[int(rng.integers(len(labels)))]))
            i += size + int(rng.integers(0, 2))
        else:
            i += 1
    return spans


def make_model(width=8, labels=LABELS, seed=0, upper_scale=1.0, **kwargs):
    fix_random_seed(seed)
    model = TransitionBasedParser(FakeTok2Vec(width), **kwargs)
    initialize_ner(model, labels)
    if model.has_ref("upper") and upper_scale:  # the upper layer starts at zero
        upper = model.get_ref("upper")
        W = upper.get_param("W")
        upper.set_param("W", (np.random.randn(*W.shape) * upper_scale).astype("float32"))
    return model


def replay_is_valid(moves: BiluoMoves, actions, n) -> bool:
    """Walk an action sequence through the transition system."""
    open_label = -1
    for t, a in enumerate(actions):
        if not moves.valid_mask(np.array([open_label]), np.array([t == n - 1]))[0, a]:
            return False
        open_label = int(moves.next_open[a])
    return open_label == -1


# -- the action table and validity -----------------------------------------------------


def test_action_table():
    moves = get_moves(["PER", "ORG"])
    assert moves.n_actions == 9
    assert moves.names == ["O", "B-PER", "I-PER", "L-PER", "U-PER", "B-ORG", "I-ORG", "L-ORG", "U-ORG"]
    assert moves.action_id(L, "ORG") == moves.index["L-ORG"] == 7
    assert moves.action_id(O) == 0
    assert list(moves.kind[:5]) == [O, B, I, L, U]
    assert list(moves.label) == [-1, 0, 0, 0, 0, 1, 1, 1, 1]
    assert get_moves(("PER", "ORG")) is moves


def test_duplicate_labels_rejected():
    with pytest.raises(DataError, match="duplicates"):
        BiluoMoves(["PER", "PER"])


def test_valid_masks():
    moves = get_moves(["PER", "ORG"])
    names = np.array(moves.names)
    mask = moves.valid_mask(np.array([-1, -1, 0, 0, 1]), np.array([False, True, False, True, False]))
    assert set(names[mask[0]]) == {"O", "B-PER", "U-PER", "B-ORG", "U-ORG"}
    assert set(names[mask[1]]) == {"O", "U-PER", "U-ORG"}  # no B- at the last token
    assert set(names[mask[2]]) == {"I-PER", "L-PER"}
    assert set(names[mask[3]]) == {"L-PER"}  # an open entity must close at the last token
    assert set(names[mask[4]]) == {"I-ORG", "L-ORG"}


# -- gold -> actions and the static oracle ----------------------------------------------


def test_spans_and_tags_to_actions_agree():
    moves = get_moves(LABELS)
    spans = [(0, 2, "PER"), (3, 4, "LOC"), (5, 8, "ORG")]
    acts = moves.spans_to_actions(9, spans)
    tags = spans_to_biluo(9, spans)
    assert moves.actions_to_tags(acts) == tags
    assert list(moves.tags_to_actions(tags)) == list(acts)
    assert moves.actions_to_entities(acts, np.array([9])) == [spans]


def test_missing_tags():
    moves = get_moves(LABELS)
    acts = moves.tags_to_actions(["O", None, "-", "", "U-PER"])
    assert list(acts) == [0, MISSING, MISSING, MISSING, moves.index["U-PER"]]
    missing = np.array([False, True, False, False])
    assert list(moves.spans_to_actions(4, [(2, 4, "ORG")], missing=missing)) == [
        0, MISSING, moves.index["B-ORG"], moves.index["L-ORG"]
    ]


def test_unknown_label_names_the_label():
    moves = get_moves(LABELS)
    with pytest.raises(DataError, match="'GPE'.*add_label"):
        moves.spans_to_actions(4, [(1, 2, "GPE")], doc_index=3)
    with pytest.raises(DataError, match="'GPE'"):
        moves.tags_to_actions(["O", "B-GPE", "L-GPE"])
    with pytest.raises(DataError, match="not a BILUO tag"):
        moves.tags_to_actions(["O", "PER"])


def test_unknown_label_in_training_batch():
    model = make_model()
    docs = random_docs(np.random.default_rng(0), 2, 8, min_len=3)
    batch, _ = model.begin_update(docs)
    golds = [["O"] * len(docs[0]), ["U-DATE"] + ["O"] * (len(docs[1]) - 1)]
    with pytest.raises(DataError, match="'DATE'"):
        batch.get_loss(golds)


def test_gold_states():
    moves = get_moves(LABELS)
    # doc 0: U-PER O B-ORG I-ORG L-ORG ; doc 1: B-LOC L-LOC
    acts = np.concatenate(
        [moves.spans_to_actions(5, [(0, 1, "PER"), (2, 5, "ORG")]),
         moves.spans_to_actions(2, [(0, 2, "LOC")])]
    )
    open_label, e0, is_last = moves.gold_states(acts, np.array([5, 2]))
    assert list(open_label) == [-1, -1, -1, 1, 1, -1, 2]
    assert list(e0) == [-1, -1, -1, 2, 2, -1, 5]
    assert list(is_last) == [False, False, False, False, True, False, True]


def test_gold_states_missing_tokens():
    moves = get_moves(LABELS)
    acts = moves.tags_to_actions(["B-PER", "L-PER", "-", "I-ORG", "L-ORG"])
    open_label, e0, _ = moves.gold_states(acts, np.array([5]))
    assert list(open_label) == [-1, 0, -1, 1, 1]
    # the B-PER at 0 is not the start of the ORG entity: E0 falls back to the pad
    assert list(e0) == [-1, 0, -1, -1, -1]


@pytest.mark.parametrize(
    "tags,where",
    [
        (["B-PER", "O", "O"], "token 1"),
        (["I-PER", "L-PER", "O"], "token 0"),
        (["O", "B-PER"], "token 1"),
        (["B-PER", "L-ORG", "O"], "token 1"),
        (["U-PER", "L-PER", "O"], "token 1"),
    ],
)
def test_malformed_gold_raises(tags, where):
    moves = get_moves(LABELS)
    acts = moves.tags_to_actions(tags)
    with pytest.raises(DataError, match=f"doc 1 at {where}"):
        moves.gold_states(np.concatenate([[0, 0], acts]).astype(np.int32), np.array([2, len(tags)]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 15), min_size=0, max_size=6), st.integers(0, 2**16))
def test_spans_actions_roundtrip(lengths, seed):
    rng = np.random.default_rng(seed)
    moves = get_moves(LABELS)
    spans = [random_spans(rng, n) for n in lengths]
    acts = [moves.spans_to_actions(n, s) for n, s in zip(lengths, spans)]
    flat = np.concatenate(acts) if acts else np.zeros(0, np.int32)
    assert moves.actions_to_entities(flat, np.array(lengths, dtype=np.int64)) == spans
    for a, n in zip(acts, lengths):
        assert replay_is_valid(moves, a, n)
    moves.gold_states(flat, np.array(lengths, dtype=np.int64))  # well-formed: no error


# -- model construction and labels --------------------------------------------------------


def test_state_type_chooses_ner_or_parser():
    assert TransitionBasedParser(FakeTok2Vec(8)).attrs["state_type"] == "ner"
    assert TransitionBasedParser(FakeTok2Vec(8), state_type="parser").attrs["state_type"] == "parser"
    with pytest.raises(ConfigError, match="not supported"):
        TransitionBasedParser(FakeTok2Vec(8), state_type="tagger")


@pytest.mark.parametrize("n", [0, 7])
def test_bad_nr_feature_tokens(n):
    with pytest.raises(ConfigError, match="nr_feature_tokens"):
        TransitionBasedParser(FakeTok2Vec(8), nr_feature_tokens=n)


def test_spec_config_shapes():
    """The spec's settings: no upper layer, so the lower layer outputs action scores."""
    model = make_model(width=8, nr_feature_tokens=3, hidden_width=128, maxout_pieces=3, use_upper=False)
    lower = model.get_ref("lower")
    n_actions = 1 + 4 * len(LABELS)
    assert not model.has_ref("upper")
    assert lower.get_param("W").shape == (3, 8, n_actions, 3)
    assert model.get_dim("nO") == n_actions
    assert model.attrs["feature_slots"] == ["B0", "E0", "B-1"]
    assert model.get_ref("tok2vec").name == "fake_tok2vec"


def test_labels_before_and_after_initialize():
    model = TransitionBasedParser(FakeTok2Vec(8))
    assert add_label(model, "PER") is True
    assert add_label(model, "PER") is False
    add_label(model, "ORG")
    assert get_labels(model) == ("PER", "ORG")
    assert not is_initialized(model)
    model.initialize()
    assert is_initialized(model) and model.get_dim("nO") == 9
    with pytest.raises(ConfigError, match="already initialized.*'GPE'|'GPE'.*already initialized"):
        add_label(model, "GPE")
    with pytest.raises(ConfigError, match="already initialized"):
        set_labels(model, ["A"])
    # re-initializing resizes the head for a new label set
    initialize_ner(model, ["PER", "ORG", "GPE"])
    assert model.get_dim("nO") == 13
    assert model.get_ref("upper").get_param("W").shape == (13, 64)


def test_initialize_without_labels():
    with pytest.raises(ConfigError, match="no labels"):
        TransitionBasedParser(FakeTok2Vec(8)).initialize()


def test_nO_mismatch():
    model = TransitionBasedParser(FakeTok2Vec(8), nO=5)
    set_labels(model, LABELS)
    with pytest.raises(ConfigError, match="nO = 5.*13 actions"):
        model.initialize()


def test_uninitialized_predict():
    model = TransitionBasedParser(FakeTok2Vec(8))
    with pytest.raises(ConfigError, match="not initialized"):
        model.predict([np.zeros((2, 8), "f")])


def test_wrong_width_raises():
    model = make_model(width=8)
    with pytest.raises(ShapeError, match=r"\(3, 8\)"):
        model.predict([np.zeros((3, 5), "f")])


# -- decoding ----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 20), min_size=1, max_size=8),
    st.integers(0, 2**16),
    st.sampled_from([1, 2, 3, 4]),
    st.booleans(),
)
def test_decode_is_always_valid(lengths, seed, n_feats, use_upper):
    rng = np.random.default_rng(seed)
    model = make_model(width=6, seed=seed, upper_scale=5.0, nr_feature_tokens=n_feats, use_upper=use_upper)
    lower = model.get_ref("lower")
    lower.set_param("W", lower.get_param("W") * 20)  # big, arbitrary scores
    lower.set_param("pad", rng.standard_normal(lower.get_param("pad").shape).astype("f") * 20)
    docs = [rng.standard_normal((n, 6)).astype("float32") for n in lengths]
    X = np.concatenate(docs)
    lens = np.array(lengths, dtype=np.int64)
    actions = greedy_decode(model, X, lens)
    moves = get_ner_moves(model)
    starts = np.cumsum(lens) - lens
    for s, n in zip(starts, lens):
        assert replay_is_valid(moves, actions[s : s + n], n)
    ents = model.predict(docs)
    assert ents == moves.actions_to_entities(actions, lens)
    for doc_ents, n in zip(ents, lengths):
        ends = [0]
        for start, end, label in doc_ents:
            assert ends[-1] <= start < end <= n and label in LABELS
            ends.append(end)


@pytest.mark.parametrize("n_feats,extra,use_upper", [(1, False, True), (2, False, True), (3, False, False), (3, False, True), (4, False, True), (4, True, False)])
def test_teacher_forcing_matches_decoding(n_feats, extra, use_upper):
    """Feeding the decoded actions back as gold reproduces the decoder's scores."""
    rng = np.random.default_rng(n_feats)
    model = make_model(width=8, seed=1, upper_scale=3.0, nr_feature_tokens=n_feats,
                       extra_state_tokens=extra, use_upper=use_upper)
    lower = model.get_ref("lower")
    lower.set_param("W", lower.get_param("W") * 10)
    docs = random_docs(rng, 12, 8, max_len=15)
    lens = np.array([len(d) for d in docs])
    actions = greedy_decode(model, np.concatenate(docs), lens)
    assert (get_ner_moves(model).kind[actions] != O).any()  # the test exercises entities
    batch, _ = model.begin_update(docs)
    starts = np.cumsum(lens) - lens
    batch.get_loss([actions[s : s + n] for s, n in zip(starts, lens)])
    masked = np.where(batch.valid, batch.scores, -np.inf)
    assert list(masked.argmax(axis=1)) == list(actions)


def test_empty_batch_and_empty_docs():
    model = make_model(width=8)
    assert model.predict([]) == []
    docs = [np.zeros((0, 8), "f"), np.ones((3, 8), "f"), np.zeros((0, 8), "f")]
    ents = model.predict(docs)
    assert len(ents) == 3 and ents[0] == [] and ents[2] == []
    batch, backprop = model.begin_update(docs)
    loss, d = batch.get_loss([[], ["U-PER", "O", "O"], []])
    backprop(d)
    dXs = model.get_ref("tok2vec").attrs["dXs"]
    assert [dx.shape for dx in dXs] == [(0, 8), (3, 8), (0, 8)]
    batch, backprop = model.begin_update([])
    loss, d = batch.get_loss([])
    assert loss == 0.0
    backprop(d)
    only_empty = [np.zeros((0, 8), "f")]
    assert model.predict(only_empty) == [[]]
    batch, backprop = model.begin_update(only_empty)
    loss, d = batch.get_loss([[]])
    assert loss == 0.0 and d.n_known == 0


def test_gold_length_mismatch():
    model = make_model(width=8)
    batch, _ = model.begin_update([np.ones((3, 8), "f")])
    with pytest.raises(DataError, match="3 tokens.*2"):
        batch.get_loss([["O", "O"]])
    with pytest.raises(DataError, match="1 docs"):
        batch.get_loss([["O"] * 3, ["O"]])


# -- training ----------------------------------------------------------------------------


def test_gradient_shapes_and_missing_rows():
    model = make_model(width=8)
    rng = np.random.default_rng(3)
    docs = random_docs(rng, 4, 8, min_len=2)
    batch, backprop = model.begin_update(docs)
    golds = [[None] * len(d) for d in docs]
    golds[1] = ["U-PER"] + ["O"] * (len(docs[1]) - 1)
    loss, d = batch.get_loss(golds)
    assert loss > 0 and d.n_known == len(docs[1])
    start = len(docs[0])
    known = np.zeros(len(d.d_scores), bool)
    known[start : start + len(docs[1])] = True
    assert np.all(d.d_scores[~known] == 0) and np.any(d.d_scores[known] != 0)
    backprop(d)
    dXs = model.get_ref("tok2vec").attrs["dXs"]
    assert [dx.shape for dx in dXs] == [x.shape for x in docs]
    for layer in (model.get_ref("lower"), model.get_ref("upper")):
        for name in layer.param_names:
            assert layer.get_grad(name).shape == layer.get_param(name).shape
    # all tokens unknown: no loss and no gradient
    batch, _ = model.begin_update(docs)
    loss, d = batch.get_loss([[None] * len(x) for x in docs])
    assert loss == 0.0 and not d.d_scores.any()


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"use_upper": False, "nr_feature_tokens": 4, "extra_state_tokens": True}],
)
def test_gradients_match_finite_differences(kwargs):
    # one maxout piece: the model is smooth, so finite differences are exact enough
    model = make_model(width=5, seed=2, upper_scale=0.5, maxout_pieces=1, **kwargs)
    rng = np.random.default_rng(4)
    docs = [x.astype("float64").astype("float32") for x in random_docs(rng, 3, 5, max_len=7, min_len=3)]
    moves = get_ner_moves(model)
    golds = [moves.spans_to_actions(len(x), random_spans(rng, len(x))) for x in docs]
    golds[0][0] = MISSING

    def loss_of():
        batch, _ = model.begin_update(docs)
        return batch.get_loss(golds, normalize=False)[0]

    batch, backprop = model.begin_update(docs)
    loss, d = batch.get_loss(golds, normalize=False)
    backprop(d)
    dXs = model.get_ref("tok2vec").attrs["dXs"]
    eps = 1e-2
    for doc_i, row, col in [(0, 0, 0), (0, 1, 3), (1, 2, 1), (2, 0, 4), (2, 2, 2)]:
        x = docs[doc_i]
        old = x[row, col]
        x[row, col] = old + eps
        up = loss_of()
        x[row, col] = old - eps
        down = loss_of()
        x[row, col] = old
        assert dXs[doc_i][row, col] == pytest.approx((up - down) / (2 * eps), rel=0.05, abs=2e-3)
    lower = model.get_ref("lower")
    for name in ("W", "b", "pad"):
        param = lower.get_param(name)
        grad = lower.get_grad(name).ravel()
        flat = param.ravel()
        for j in rng.choice(flat.size, 4, replace=False):
            old = flat[j]
            flat[j] = old + eps
            up = loss_of()
            flat[j] = old - eps
            down = loss_of()
            flat[j] = old
            assert grad[j] == pytest.approx((up - down) / (2 * eps), rel=0.05, abs=2e-3), name


def orth_docs():
    vocab = Vocab()
    data = [
        ("Alice visited Paris yesterday", [(0, 1, "PER"), (2, 3, "LOC")]),
        ("Bob Smith works at Acme Corp .", [(0, 2, "PER"), (4, 6, "ORG")]),
        ("The weather in New York is cold", [(3, 5, "LOC")]),
        ("Acme Corp hired Alice", [(0, 2, "ORG"), (3, 4, "PER")]),
        ("Nothing happened here", []),
    ]
    return [Doc(vocab, text.split(), ents=ents) for text, ents in data]


def test_overfit_tiny_corpus():
    fix_random_seed(0)
    model = TransitionBasedParser(OrthTok2Vec(32), hidden_width=32, maxout_pieces=2)
    docs = orth_docs()
    initialize_ner(model, LABELS, X=docs)
    # golds as BILUO tags from the reference docs' entities
    golds = [spans_to_biluo(len(doc), [(e.start, e.end, e.label_) for e in doc.ents]) for doc in docs]
    optimizer = Adam(0.01)
    losses = []
    for _ in range(150):
        losses.append(update_ner(model, docs, golds))
        model.finish_update(optimizer)
    assert losses[-1] < losses[0] * 0.05
    predicted = model.predict(docs)
    assert predicted == [[(e.start, e.end, e.label_) for e in doc.ents] for doc in docs]


def test_serialization_roundtrip():
    model = make_model(width=8, nr_feature_tokens=4)
    docs = random_docs(np.random.default_rng(5), 6, 8, min_len=3)
    lower = model.get_ref("lower")
    lower.set_param("W", lower.get_param("W") * 10)
    expected = model.predict(docs)
    fresh = TransitionBasedParser(FakeTok2Vec(8), nr_feature_tokens=4)
    fresh.from_bytes(model.to_bytes())
    assert get_labels(fresh) == tuple(LABELS)
    assert is_initialized(fresh)
    assert fresh.predict(docs) == expected


def test_feature_index_slots():
    idx = feature_index(np.array([3, 1]), FEATURE_SLOTS, e0=np.array([-1, 0, 0, -1]))
    # columns: B0, E0, B-1, B+1, B-2, B+2
    assert idx.tolist() == [
        [0, -1, -1, 1, -1, 2],
        [1, 0, 0, 2, -1, -1],
        [2, 0, 1, -1, 0, -1],
        [3, -1, -1, -1, -1, -1],
    ]


def test_with_workbench_tok2vec():
    """The sub-model can be the engine's full Tok2Vec; gradients reach its weights."""
    from workbench.models import MaxoutWindowEncoder, MultiHashEmbed, Tok2Vec

    fix_random_seed(0)
    tok2vec = Tok2Vec(MultiHashEmbed(width=32, rows=200), MaxoutWindowEncoder(width=32, depth=1))
    model = TransitionBasedParser(tok2vec, hidden_width=32)
    docs = orth_docs()
    initialize_ner(model, LABELS, X=docs)
    assert model.get_ref("tok2vec") is tok2vec
    assert model.get_ref("lower").get_dim("nI") == 32
    golds = [
        get_ner_moves(model).spans_to_actions(len(d), [(e.start, e.end, e.label_) for e in d.ents])
        for d in docs
    ]
    before = [p.copy() for p in _params(tok2vec)]
    optimizer = Adam(0.01)
    for _ in range(3):
        update_ner(model, docs, golds)
        model.finish_update(optimizer)
    after = _params(tok2vec)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert len(model.predict(docs)) == len(docs)


def _params(model):
    return [node.get_param(name) for node in model.walk() for name in node.param_names
            if node.has_param(name)]


def test_mixed_precision_decodes_with_bf16_products(monkeypatch):
    """mixed_precision = true sends the projection to low_precision.matmul with bf16 and
    still decodes valid BILUO sequences, nearly always the float32 ones."""
    import workbench.models.parser as parser_module

    rng = np.random.default_rng(3)
    model = make_model(width=8, seed=2, upper_scale=3.0)
    assert model.attrs["mixed_precision"] is False  # v1
    fix_random_seed(2)
    model = TransitionBasedParserV2(FakeTok2Vec(8), mixed_precision=True)
    initialize_ner(model, LABELS)
    upper = model.get_ref("upper")
    upper.set_param("W", (np.random.randn(*upper.get_param("W").shape) * 3.0).astype("float32"))
    assert model.attrs["mixed_precision"] is True
    docs = random_docs(rng, 20, 8, max_len=15, min_len=1)
    X, lens = np.concatenate(docs), np.array([len(d) for d in docs], dtype=np.int64)
    asked, real = [], parser_module.matmul
    monkeypatch.setattr(parser_module, "matmul", lambda *a, **kw: asked.append(kw["bf16"]) or real(*a, **kw))
    mixed = greedy_decode(model, X, lens)
    assert asked == [True]
    model.attrs["mixed_precision"] = False
    exact = greedy_decode(model, X, lens)
    assert asked == [True, False]
    starts = np.cumsum(lens) - lens
    for s, n in zip(starts, lens):
        assert replay_is_valid(get_ner_moves(model), mixed[s : s + n], n)
    assert (mixed == exact).mean() > 0.95
