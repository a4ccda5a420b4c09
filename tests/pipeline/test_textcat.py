"""The textcat components: learning doc.cats, the three architectures, listeners,
save/load, make_independent, and bad inputs."""
import numpy
import pytest
from thinc.api import Adam

import workbench
from tests.helpers.trf import save_tiny_bert, transformer_block
from workbench import Doc, Example
from workbench.commands import build_init_config
from workbench.errors import ConfigError, DataError
from workbench.models.listener import find_channels
from workbench.training.loop import train as train_config

# Short "reviews" vs "news" vs "email" texts: the words give the class away.
CLASSED = [
    ("the food was great and the staff were friendly", "reviews"),
    ("terrible service , i will never come back", "reviews"),
    ("the president visited berlin on monday", "news"),
    ("stocks fell sharply in london today", "news"),
    ("hi bob , please send me the report", "email"),
    ("thanks for the quick reply , regards alice", "email"),
]
LABELS = ["email", "news", "reviews"]

SMALL = {"embed": {"width": 32}, "encode": {"width": 32, "depth": 1}}


def cats_examples(nlp, rows=CLASSED, labels=LABELS):
    out = []
    for text, label in rows:
        ref = Doc(nlp.vocab, words=text.split(), cats={x: float(x == label) for x in labels})
        out.append(Example.from_gold(nlp.vocab, ref))
    return out


def pipeline(components=("textcat",), shared=True, model=None):
    """A small pipeline from `init config`; `model` replaces the textcat model block's keys."""
    config = build_init_config(list(components), shared=shared)
    blocks = [config["components"]["tok2vec"]["model"]] if shared else \
        [config["components"][c]["model"]["tok2vec"] for c in components]
    for block in blocks:
        for part, values in SMALL.items():
            block[part].update(values)
    for name in components:
        tok2vec = config["components"][name]["model"]["tok2vec"]
        if shared:
            tok2vec["width"] = 32
        if model and name.startswith("textcat"):
            block = dict(model)
            if block["@architectures"] != "workbench.TextCatBOW.v1":
                block["tok2vec"] = tok2vec
            config["components"][name]["model"] = block
    return workbench.Pipeline.from_config(config)


def train(nlp, examples, steps=30, lr=0.02):
    nlp.initialize(lambda: iter(examples))
    sgd = Adam(lr)
    losses = [nlp.update(examples, sgd=sgd)[nlp.pipe_names[-1]] for _ in range(steps)]
    return losses


REDUCE = {"@architectures": "workbench.TextCatReduce.v1", "exclusive_classes": True,
          "use_reduce_mean": True, "use_reduce_max": True}
BOW = {"@architectures": "workbench.TextCatBOW.v1", "exclusive_classes": True, "ngram_size": 2, "length": 4096}


@pytest.mark.parametrize("model", [None, REDUCE, BOW], ids=["ensemble", "reduce", "bow"])
def test_textcat_learns_the_tiny_corpus(model):
    nlp = pipeline(model=model)
    examples = cats_examples(nlp)
    losses = train(nlp, examples)
    assert losses[-1] < 0.1 * losses[0]
    scores = nlp.evaluate(examples)
    assert scores["cats_accuracy"] == 1.0 and scores["cats_macro_f"] == 1.0 and scores["cats_score"] == 1.0
    doc = nlp("stocks fell in berlin on monday")
    assert sorted(doc.cats) == LABELS
    assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-5)  # softmax
    assert max(doc.cats, key=doc.cats.get) == "news"


def test_default_is_the_ensemble_over_the_shared_tok2vec():
    nlp = pipeline(("tagger", "parser", "ner", "textcat"))
    block = nlp.config["components"]["textcat"]["model"]
    assert block["@architectures"] == "workbench.TextCatEnsemble.v1"
    assert block["linear_model"]["@architectures"] == "workbench.TextCatBOW.v1"
    assert block["tok2vec"]["@architectures"] == "workbench.Tok2VecListener.v1"
    channels = nlp.get_pipe("tok2vec").channels
    assert sorted(ch.downstream for ch in channels) == ["ner", "parser", "tagger", "textcat"]
    assert nlp.config["training"]["score_weights"]["cats_score"] > 0


def test_textcat_gradient_reaches_the_shared_tok2vec_and_the_dashboard_events(tmp_path):
    from workbench.training.events import TrainingEvent

    config = build_init_config(["tagger", "textcat"], shared=True)
    for k, v in {"width": 32}.items():
        config["components"]["tok2vec"]["model"]["embed"][k] = v
        config["components"]["tok2vec"]["model"]["encode"][k] = v
    rows = [{"words": t.split(), "tags": ["X"] * len(t.split()), "cats": {x: float(x == lab) for x in LABELS}}
            for t, lab in CLASSED]
    path = tmp_path / "train.jsonl"
    import srsly
    srsly.write_jsonl(path, rows)
    config["paths"]["train"] = str(path)
    config["paths"]["dev"] = str(path)
    config["training"]["max_steps"] = 4
    config["training"]["eval_frequency"] = 2
    events = []
    train_config(config, tmp_path / "out", subscribers=[events.append], progress=False)
    steps = [e for e in events if isinstance(e, TrainingEvent) and e.grad_norms]
    assert steps
    norms = steps[-1].grad_norms["tok2vec"]
    assert set(norms) == {"tagger", "textcat"} and norms["textcat"] > 0
    loaded = workbench.load(tmp_path / "out" / "model-last")
    assert sorted(loaded("the food was great").cats) == LABELS


def test_multilabel_sigmoid_threshold_and_missing_labels():
    nlp = pipeline(("textcat_multilabel",), model={
        "@architectures": "workbench.TextCatBOW.v1", "exclusive_classes": False, "length": 4096})
    rows = [("great food", {"FOOD": 1.0, "SERVICE": 0.0}), ("rude staff", {"FOOD": 0.0, "SERVICE": 1.0}),
            ("great food rude staff", {"FOOD": 1.0, "SERVICE": 1.0}), ("nice view", {"FOOD": 0.0, "SERVICE": 0.0}),
            ("cold food", {"FOOD": 1.0})]  # SERVICE left out: not trained on
    examples = [Example.from_gold(nlp.vocab, Doc(nlp.vocab, words=t.split(), cats=c)) for t, c in rows]
    train(nlp, examples, steps=40, lr=0.1)
    doc = nlp("rude staff great food")
    assert doc.cats["FOOD"] > 0.8 and doc.cats["SERVICE"] > 0.8  # independent sigmoids
    assert nlp("nice view").cats["FOOD"] < 0.2
    scores = nlp.evaluate(examples)
    assert scores["cats_accuracy"] == 1.0
    # A threshold above every score predicts no label: accuracy is the share of empty gold sets
    nlp.get_pipe("textcat_multilabel").cfg["threshold"] = 1.0
    assert nlp.evaluate(examples)["cats_accuracy"] == pytest.approx(1 / 5)


def test_multilabel_mask_leaves_unlisted_labels_alone():
    nlp = pipeline(("textcat_multilabel",), model={
        "@architectures": "workbench.TextCatBOW.v1", "exclusive_classes": False, "length": 512})
    examples = [Example.from_gold(nlp.vocab, Doc(nlp.vocab, words=["a", "b"], cats={"X": 1.0, "Y": 0.0}))]
    nlp.initialize(lambda: iter(examples))
    comp = nlp.get_pipe("textcat_multilabel")
    only_x = [Example.from_gold(nlp.vocab, Doc(nlp.vocab, words=["a", "b"], cats={"X": 1.0}))]
    scores = comp.model.ops.asarray2f([[0.3, 0.7]])
    loss, d = comp.get_loss(only_x, scores)
    assert d.tolist() == [[pytest.approx(-0.7), 0.0]] and loss == pytest.approx(0.49)


def test_save_load_round_trip(tmp_path):
    nlp = pipeline(("textcat_multilabel",))
    nlp.get_pipe("textcat_multilabel").cfg["threshold"] = 0.3
    examples = cats_examples(nlp)
    train(nlp, examples, steps=5)
    before = nlp("please send the report").cats
    nlp.to_disk(tmp_path / "model")
    loaded = workbench.load(tmp_path / "model")
    after = loaded("please send the report").cats
    assert after == pytest.approx(before)
    assert loaded.get_pipe("textcat_multilabel").cfg["threshold"] == 0.3
    assert loaded.get_pipe("textcat_multilabel").labels == LABELS
    again = Doc.from_json(loaded.vocab, loaded("hi bob").to_json())
    assert sorted(again.cats) == LABELS


def test_make_independent_keeps_the_predictions():
    nlp = pipeline(("tagger", "textcat"))
    examples = cats_examples(nlp)
    for eg in examples:
        eg.reference.tags = ["X"] * len(eg.reference)
    train(nlp, examples, steps=5)
    text = "thanks for the report"
    before = nlp(text).cats
    nlp.make_independent("textcat")
    assert not find_channels(nlp.get_pipe("textcat").model)
    assert "Listener" not in str(nlp.config["components"]["textcat"]["model"]["tok2vec"])
    assert nlp(text).cats == pytest.approx(before)
    indep = pipeline(("textcat",), shared=False)
    assert indep.pipe_names == ["textcat"]
    train(indep, cats_examples(indep), steps=3)
    assert sorted(indep(text).cats) == LABELS


def test_textcat_reduce_over_a_transformer_listener(tmp_path):
    path = save_tiny_bert(tmp_path / "bert")
    nlp = workbench.Pipeline.from_config(f"""
{transformer_block(path)}

[components.textcat]
factory = "textcat"

[components.textcat.model]
@architectures = "spacy.TextCatReduce.v1"
exclusive_classes = true
use_reduce_first = true
use_reduce_last = true
use_reduce_max = true
use_reduce_mean = true

[components.textcat.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0

[components.textcat.model.tok2vec.pooling]
@layers = "reduce_mean.v1"
""")
    examples = cats_examples(nlp)
    losses = train(nlp, examples, steps=25, lr=0.01)
    assert losses[-1] < 0.3 * losses[0]
    assert nlp.get_pipe("transformer").grad_norms()["textcat"] > 0
    assert nlp.evaluate(examples)["cats_accuracy"] >= 5 / 6


# ---------------------------------------------------------------- bad inputs

def test_exclusive_docs_need_exactly_one_positive_label():
    nlp = pipeline()
    nlp.initialize(lambda: iter(cats_examples(nlp)))
    two = Doc(nlp.vocab, words="the food was great".split(), cats={"reviews": 1.0, "news": 1.0, "email": 0.0})
    with pytest.raises(DataError, match="'the food was great'.*2 positive labels.*textcat_multilabel"):
        nlp.update([Example.from_gold(nlp.vocab, two)])
    none = Doc(nlp.vocab, words="the food".split(), cats={"reviews": 0.0})
    with pytest.raises(DataError, match="0 positive labels"):
        nlp.update([Example.from_gold(nlp.vocab, none)])


def test_a_label_unseen_at_initialize_is_named():
    nlp = pipeline()
    nlp.initialize(lambda: iter(cats_examples(nlp)))
    doc = Doc(nlp.vocab, words="lol ok".split(), cats={"chat": 1.0})
    with pytest.raises(DataError, match="'chat'.*'lol ok'.*not seen at initialize"):
        nlp.update([Example.from_gold(nlp.vocab, doc)])


def test_cats_must_be_a_dict():
    nlp = workbench.Pipeline()
    with pytest.raises(DataError, match="cats must be a dict"):
        Doc(nlp.vocab, words=["a"], cats=["reviews"])


def test_no_cats_in_the_training_data():
    nlp = pipeline()
    examples = [Example.from_gold(nlp.vocab, Doc(nlp.vocab, words=["a", "b"]))]
    with pytest.raises(DataError, match="no text categories.*--cats-from-sent-id"):
        nlp.initialize(lambda: iter(examples))


def test_threshold_out_of_range_names_the_key():
    nlp = workbench.Pipeline()
    nlp.add_pipe("tok2vec")
    with pytest.raises(ConfigError, match="threshold") as info:
        nlp.add_pipe("textcat_multilabel", config={"threshold": 1.5})
    assert any(issue.key == "threshold" for issue in info.value.issues)


def test_exclusive_classes_must_match_the_factory():
    nlp = workbench.Pipeline()
    nlp.add_pipe("tok2vec")
    with pytest.raises(ConfigError, match="exclusive_classes = false.*textcat_multilabel"):
        nlp.add_pipe("textcat", config={"model": {"linear_model": {"exclusive_classes": False}}})
    with pytest.raises(ConfigError, match="exclusive_classes = true"):
        nlp.add_pipe("textcat_multilabel", name="multi", config={"model": {"linear_model": {"exclusive_classes": True}}})
    with pytest.raises(ConfigError, match="no_output_layer = false"):
        nlp.add_pipe("textcat", name="raw", config={"model": {
            "@architectures": "workbench.TextCatBOW.v1", "exclusive_classes": True, "no_output_layer": True}})


def test_textcat_reduce_needs_a_reduction():
    from workbench.models.textcat import TextCatReduce
    from workbench.models.tok2vec import HashEmbedCNN

    tok2vec = HashEmbedCNN(width=16, depth=1, embed_size=100, window_size=1, maxout_pieces=2, subword_features=False)
    with pytest.raises(ConfigError, match="use_reduce_mean"):
        TextCatReduce(tok2vec, exclusive_classes=True, use_reduce_max=False, use_reduce_mean=False)


def test_scores_come_out_as_plain_floats():
    nlp = pipeline(model=BOW)
    train(nlp, cats_examples(nlp), steps=2)
    doc = nlp("hi")
    assert all(type(v) is float for v in doc.cats.values())
    assert numpy.isfinite(list(doc.cats.values())).all()


def test_init_config_and_the_layout_diagram_cover_textcat():
    from widgets.converters.layout import layout_data

    shared = build_init_config(["tagger", "ner", "textcat"], shared=True)
    assert shared["nlp"]["pipeline"] == ["tok2vec", "tagger", "ner", "textcat"]
    data = layout_data(shared)
    listens = {(e["source"], e["target"]) for e in data["edges"] if e["kind"] == "listens"}
    kinds = {n["component"]: n["kind"] for n in data["nodes"] if n["row"] == 1}
    assert kinds["textcat"] == "listener" and ("tok2vec/embedding", "textcat/listener") in listens
    independent = build_init_config(["tagger", "ner", "textcat"], shared=False)
    assert independent["nlp"]["pipeline"] == ["tagger", "ner", "textcat"]
    block = independent["components"]["textcat"]["model"]
    assert block["@architectures"] == "workbench.TextCatEnsemble.v1"
    assert block["tok2vec"]["@architectures"] == "workbench.Tok2Vec.v1"
    data = layout_data(independent)
    assert {n["component"]: n["kind"] for n in data["nodes"] if n["row"] == 1}["textcat"] == "own"
    assert data["params"]["by_component"]["textcat"] > data["params"]["by_component"]["tagger"] > 0  # BOW table


def test_cats_travel_between_processes():
    from workbench.pipeline.doc_transfer import docs_from_bytes, docs_to_bytes

    nlp = workbench.Pipeline()
    doc = Doc(nlp.vocab, words=["hi", "bob"], cats={"email": 0.875, "news": 0.125})
    again = docs_from_bytes(nlp.vocab, docs_to_bytes([doc, Doc(nlp.vocab, words=["x"])]))
    assert again[0].cats == {"email": 0.875, "news": 0.125} and again[1].cats == {}
