"""The parser component: training, doc.sents from the parse, listeners, save/load, errors."""
import numpy
import pytest
from confection import Config
from thinc.api import Adam, fix_random_seed

import workbench
from tests.helpers.trf import save_tiny_bert, transformer_block
from workbench import Doc, Example
from workbench.commands import build_init_config
from workbench.config import missing_values
from workbench.errors import ConfigError, DataError
from workbench.models.nonproj import is_projective
from workbench.models.parser import TransitionBasedParser
from workbench.models.tok2vec import HashEmbedCNN

# (words, UPOS, heads as doc indices with the root its own head, deps)
PARSED = [
    ("Alice works for Acme in Paris .", "PROPN VERB ADP PROPN ADP PROPN PUNCT", [1, 1, 3, 1, 5, 1, 1], "nsubj root case obl case obl punct"),
    ("Bob visited London last week .", "PROPN VERB PROPN ADJ NOUN PUNCT", [1, 1, 1, 4, 1, 1], "nsubj root obj amod obl punct"),
    ("The cat sat on the mat .", "DET NOUN VERB ADP DET NOUN PUNCT", [1, 2, 2, 5, 5, 2, 2], "det nsubj root case det obl punct"),
    ("Carol Smith joined Globex Corp in Berlin .", "PROPN PROPN VERB PROPN PROPN ADP PROPN PUNCT", [2, 0, 2, 4, 2, 6, 2, 2], "nsubj flat root compound obj case obl punct"),
    ("A dog barked loudly .", "DET NOUN VERB ADV PUNCT", [1, 2, 2, 2, 2], "det nsubj root advmod punct"),
    ("Dave left Acme for Initech .", "PROPN VERB PROPN ADP PROPN PUNCT", [1, 1, 1, 4, 1, 1], "nsubj root obj case obl punct"),
]

SMALL = {"components.tok2vec.model.embed.width": 32, "components.tok2vec.model.encode.width": 32,
         "components.tok2vec.model.encode.depth": 2}


def joined(rows):
    """Several PARSED sentences as one doc, heads re-offset."""
    text, pos, heads, deps, offset = [], [], [], [], 0
    for t, p, h, d in rows:
        text.append(t), pos.append(p), deps.append(d)
        heads += [x + offset for x in h]
        offset += len(h)
    return (" ".join(text), " ".join(pos), heads, " ".join(deps))


def parsed_examples(nlp, multi=False):
    rows = PARSED + ([joined(PARSED[2:5]), joined(PARSED[:2])] if multi else [])
    out = []
    for text, pos, heads, deps in rows:
        words = text.split()
        ref = Doc(nlp.vocab, words=words, pos=pos.split(), tags=pos.split(), heads=heads, deps=deps.split())
        ref.sent_starts = workbench.text.syntax.sent_starts_from_heads(heads)
        out.append(Example.from_gold(nlp.vocab, ref))
    return out


def shared_pipeline(components=("tagger", "parser")):
    config = build_init_config(list(components), shared=True)
    for key, value in SMALL.items():
        node = config
        *path, last = key.split(".")
        for part in path:
            node = node[part]
        node[last] = value
    for name in components:
        if "tok2vec" in config["components"][name]["model"]:
            config["components"][name]["model"]["tok2vec"]["width"] = 32
    config["components"]["parser"]["min_action_freq"] = 1
    return workbench.Pipeline.from_config(config)


def train(nlp, examples, steps=40, lr=0.01):
    nlp.initialize(lambda: iter(examples))
    sgd = Adam(lr)
    for _ in range(steps):
        nlp.update(examples, sgd=sgd)
    return nlp


def assert_valid_parse(doc):
    assert doc.has_heads
    for sent in doc.sents:
        roots = [t for t in sent if t.head.i == t.i]
        assert len(roots) == 1
        assert all(sent.start <= t.head.i < sent.end for t in sent)
    local = [-1 if h == i else h for i, h in enumerate(doc.heads)]
    assert is_projective(local)


@pytest.fixture(scope="module")
def trained():
    fix_random_seed(0)  # the tiny corpus' model must not depend on what earlier tests drew
    nlp = shared_pipeline()
    examples = parsed_examples(nlp, multi=True)
    return train(nlp, examples, steps=60), examples


def test_parser_learns_the_tiny_corpus(trained):
    nlp, examples = trained
    scores = nlp.evaluate(examples)
    assert scores["dep_uas"] > 0.95 and scores["dep_las"] > 0.9
    assert scores["sents_f"] == 1.0
    doc = nlp("The cat sat on the mat .")
    assert [t.head.text for t in doc] == ["cat", "sat", "sat", "mat", "mat", "sat", "sat"]
    assert doc[1].dep_ == "nsubj" and [c.text for c in doc[2].children] == ["cat", "mat", "."]
    assert [c.text for c in doc[5].children] == ["on", "the"]
    assert [s.text for s in doc.noun_chunks] == ["The cat", "the mat"]


def test_sentences_follow_the_parse(trained):
    nlp, _ = trained
    doc = nlp("The cat sat on the mat . A dog barked loudly . Bob visited London last week .")
    assert_valid_parse(doc)
    assert [s.text for s in doc.sents] == ["The cat sat on the mat .", "A dog barked loudly .",
                                           "Bob visited London last week ."]
    assert [t.i for t in doc if t.head.i == t.i] == [2, 9, 13]  # one root per sentence


def test_decoding_untrained_weights_always_gives_trees():
    nlp = shared_pipeline()
    examples = parsed_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    parser = nlp.get_pipe("parser")
    rng = numpy.random.default_rng(0)
    lower = parser.model.get_ref("lower")
    lower.set_param("W", rng.normal(size=lower.get_param("W").shape).astype("float32"))
    upper = parser.model.get_ref("upper")
    upper.set_param("W", rng.normal(size=upper.get_param("W").shape).astype("float32"))
    for doc in nlp.pipe([" ".join(t for t, *_ in PARSED)] * 3 + ["Hi"]):
        assert_valid_parse(doc)


def test_save_load_round_trip(trained, tmp_path):
    nlp, _ = trained
    text = "Carol Smith joined Globex Corp in Berlin . Dave left Acme for Initech ."
    before = nlp(text)
    nlp.to_disk(tmp_path / "model")
    loaded = workbench.load(tmp_path / "model")
    after = loaded(text)
    assert after.heads == before.heads and after.deps == before.deps
    assert [s.text for s in after.sents] == [s.text for s in before.sents]
    again = Doc.from_json(loaded.vocab, after.to_json())
    assert again.heads == after.heads and again.deps == after.deps


def test_independent_parser_and_make_independent(trained):
    nlp, examples = trained
    text = "Bob visited London last week ."
    before = nlp(text).heads
    nlp.make_independent("parser")
    assert "Listener" not in str(nlp.config["components"]["parser"]["model"]["tok2vec"])
    assert nlp(text).heads == before
    config = build_init_config(["parser"], shared=False)
    config["components"]["parser"]["min_action_freq"] = 1
    indep = workbench.Pipeline.from_config(config)
    assert indep.pipe_names == ["parser"]
    train(indep, parsed_examples(indep), steps=5)
    assert_valid_parse(indep(text))


def test_parser_over_a_transformer_listener(tmp_path):
    path = save_tiny_bert(tmp_path / "bert")
    nlp = workbench.Pipeline.from_config(f"""
{transformer_block(path)}

[components.parser]
factory = "parser"
min_action_freq = 1

[components.parser.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "parser"
hidden_width = 32

[components.parser.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0

[components.parser.model.tok2vec.pooling]
@layers = "reduce_mean.v1"
""")
    examples = parsed_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    sgd = Adam(0.01)
    losses = [nlp.update(examples, sgd=sgd)["parser"] for _ in range(15)]
    assert losses[-1] < 0.5 * losses[0]
    assert_valid_parse(nlp("the cat sat on the mat ."))


def test_nonprojective_gold_is_lifted_for_training_and_restored():
    nlp = shared_pipeline(("parser",))
    # "A hearing is scheduled on the issue today": 'on' attaches to 'hearing' across 'is scheduled'
    words = "A hearing is scheduled on the issue today".split()
    heads = [1, 3, 3, 3, 6, 6, 1, 3]
    deps = "det nsubj aux root case det nmod obl".split()
    ref = Doc(nlp.vocab, words=words, heads=heads, deps=deps)
    examples = [Example.from_gold(nlp.vocab, ref)] + parsed_examples(nlp)
    train(nlp, examples, steps=60)
    assert "nmod||nsubj" in nlp.get_pipe("parser").cfg["labels"]
    doc = nlp(" ".join(words))
    assert doc.heads == heads and doc.deps == deps  # lifted back under 'hearing'


def test_config_errors():
    tok2vec = HashEmbedCNN(width=16, depth=1, embed_size=100, window_size=1, maxout_pieces=2, subword_features=False)
    with pytest.raises(ConfigError, match='"ner".*"parser"'):
        TransitionBasedParser(tok2vec, state_type="tagger")
    with pytest.raises(ConfigError, match="nr_feature_tokens"):
        TransitionBasedParser(tok2vec, state_type="parser", nr_feature_tokens=11)
    nlp = workbench.Pipeline()
    with pytest.raises(ConfigError, match='state_type = "parser"'):
        nlp.add_pipe("parser", config={"model": {"state_type": "ner"}})


def test_bad_gold_parses_are_named():
    nlp = shared_pipeline(("parser",))
    examples = parsed_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    words = "a b c".split()
    cyclic = Doc(nlp.vocab, words=words, heads=[1, 2, 0], deps=["dep"] * 3)
    with pytest.raises(DataError, match="cycle"):
        nlp.update([Example.from_gold(nlp.vocab, cyclic)])
    partial = Doc(nlp.vocab, words=words, heads=[1, 1, None], deps=["dep"] * 3)
    with pytest.raises(DataError, match="token 2"):
        nlp.update([Example.from_gold(nlp.vocab, partial)])
    with pytest.raises(DataError, match="outside the doc"):
        Doc(nlp.vocab, words=words, heads=[1, 1, 3])


def test_parses_travel_between_processes():
    from workbench.pipeline.doc_transfer import docs_from_bytes, docs_to_bytes

    nlp = workbench.Pipeline()
    doc = Doc(nlp.vocab, words=["She", "reads", "books", "."], heads=[1, 1, 1, 1], deps=["nsubj", "ROOT", "obj", "punct"])
    again, bare = docs_from_bytes(nlp.vocab, docs_to_bytes([doc, Doc(nlp.vocab, words=["x"])]))
    assert again.heads == [1, 1, 1, 1] and again.deps == ["nsubj", "ROOT", "obj", "punct"]
    assert [t.text for t in again[1].children] == ["She", "books", "."]
    assert not bare.has_heads


def test_set_annotations_of_a_batch_equal_each_doc_on_its_own(trained):
    """Heads, deps and sentences are written for the whole batch at once: the same as
    doc by doc, with lifted labels undone in their own doc and an empty doc left empty."""
    from workbench.models.arc_eager import tree_starts
    from workbench.models.nonproj import deprojectivize

    nlp, _ = trained
    parser = nlp.get_pipe("parser")
    saved = dict(parser.cfg)
    parser.cfg["labels"] = ["det", "nsubj", "case", "nmod||nsubj", "obl", "root"]
    try:
        # "A hearing is scheduled on the issue today" with 'on the issue' lifted to 'scheduled'
        lifted = (numpy.array([1, 3, 3, -1, 6, 6, 3, 3]), numpy.array([0, 1, 4, -1, 2, 0, 3, 4]))
        two = (numpy.array([1, -1, -1, 2]), numpy.array([0, -1, -1, 1]))  # two sentences
        parses = [lifted, (numpy.zeros(0, numpy.int64), numpy.zeros(0, numpy.int32)), two, lifted]
        docs = [Doc(nlp.vocab, words=[f"w{i}" for i in range(len(h))]) for h, _ in parses]
        parser.set_annotations(docs, ([h for h, _ in parses], [ids for _, ids in parses]))
        names = parser.cfg["labels"] + [parser.cfg["root_label"]]
        for doc, (heads, ids) in zip(docs, parses):
            want_heads, want_deps = deprojectivize(heads, [names[i] for i in ids.tolist()])
            assert doc.heads == [h if h >= 0 else i for i, h in enumerate(want_heads.tolist())]
            assert doc.deps == want_deps
            assert doc.sent_starts == tree_starts(want_heads).tolist()
        assert docs[0].heads == [1, 3, 3, 3, 6, 6, 1, 3] and docs[0].deps[6] == "nmod"  # back under 'hearing'
        assert [len(list(d.sents)) for d in docs] == [1, 0, 2, 1] and docs[1].heads == []
    finally:
        parser.cfg.update(saved)


def test_mixed_precision_parses_with_bf16_products_like_float32(trained, monkeypatch):
    import workbench.models.dep_parser as dep_parser
    from workbench.models.low_precision import bf16_native

    nlp, examples = trained
    parser = nlp.get_pipe("parser")
    texts = [" ".join(eg.reference.words) for eg in examples]
    before = [doc.heads for doc in nlp.pipe(texts)]
    asked = []
    real = dep_parser.matmul
    monkeypatch.setattr(dep_parser, "matmul", lambda *a, **kw: asked.append(kw["bf16"]) or real(*a, **kw))
    parser.model.attrs["mixed_precision"] = True
    try:
        after = list(nlp.pipe(texts))
    finally:
        parser.model.attrs["mixed_precision"] = False
    assert asked and all(asked)
    for doc in after:
        assert_valid_parse(doc)
    if bf16_native():  # the tiny corpus is learnt with wide margins: the same trees
        assert [doc.heads for doc in after] == before


def test_mixed_precision_is_a_model_setting_that_survives_save_load(tmp_path):
    config = build_init_config(["parser", "ner"], shared=True)
    for name in ("parser", "ner"):
        config["components"][name]["model"].update({"@architectures": "workbench.TransitionBasedParser.v2",
                                                     "mixed_precision": True})
    nlp = workbench.Pipeline.from_config(config)
    assert nlp.get_pipe("parser").model.attrs["mixed_precision"] is True
    assert nlp.get_pipe("ner").model.attrs["mixed_precision"] is True
    config = build_init_config(["parser"], shared=True)
    config["components"]["parser"]["model"].update({"@architectures": "workbench.TransitionBasedParser.v2",
                                                    "mixed_precision": True})
    assert missing_values(Config(config)) == []  # v1 configs stay complete; v2 adds one setting
    nlp = workbench.Pipeline.from_config(config)
    examples = parsed_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    nlp.to_disk(tmp_path / "model")
    loaded = workbench.load(tmp_path / "model")
    assert loaded.get_pipe("parser").model.attrs["mixed_precision"] is True
    assert build_init_config(["parser"], shared=True)["components"]["parser"]["model"].get("mixed_precision", False) is False
    config["components"]["parser"]["model"]["mixed_precision"] = "fast"
    with pytest.raises(ConfigError, match="mixed_precision"):
        workbench.Pipeline.from_config(config)


def test_explore_is_checked_and_steers_the_training_walk():
    for bad in (-0.1, 1.5, "half", True):
        with pytest.raises(ConfigError, match="explore"):
            workbench.Pipeline().add_pipe("parser", config={"explore": bad})
    losses = {}
    for explore in (0.0, 1.0):
        fix_random_seed(0)
        nlp = shared_pipeline(("parser",))
        examples = parsed_examples(nlp, multi=True)
        nlp.initialize(lambda: iter(examples))
        parser = nlp.get_pipe("parser")
        parser.explore = explore
        assert nlp.get_pipe("parser").explore == explore
        losses[explore] = nlp.update(examples, sgd=Adam(0.001))["parser"]
    # the untrained scores tie, so the model's own walk (explore 1) is SHIFT after SHIFT, far from the oracle's
    assert losses[0.0] != pytest.approx(losses[1.0], rel=1e-3)
    nlp = shared_pipeline(("parser",))
    assert nlp.get_pipe("parser").explore == 0.9  # the default


def test_closing_moves_are_on_for_new_parsers_and_off_for_ones_saved_without_them(trained, tmp_path):
    nlp, _ = trained
    model = nlp.get_pipe("parser").model
    assert model.attrs["closing_moves"] is True
    nlp.to_disk(tmp_path / "model")
    assert workbench.load(tmp_path / "model").get_pipe("parser").model.attrs["closing_moves"] is True
    # a parser saved before closing moves existed has no such attr: it loads without them
    import srsly
    weights = tmp_path / "model" / "parser" / "model.msgpack"
    msg = srsly.msgpack_loads(weights.read_bytes())
    for attrs in msg["attrs"]:
        attrs.pop("closing_moves", None)
    weights.write_bytes(srsly.msgpack_dumps(msg))
    old = workbench.load(tmp_path / "model")
    assert old.get_pipe("parser").model.attrs["closing_moves"] is False
    assert_valid_parse(old("The cat sat on the mat . A dog barked loudly ."))
