"""The pipeline object and the shared-embedding listener contract."""
import numpy
import pytest
from thinc.api import Adam

import workbench
from tests.helpers import tiny_examples, tok2vec_grads, zero_grads
from workbench.errors import ConfigError, ListenerError, WorkbenchError

TWO_TAGGERS = """
[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "workbench.HashEmbedCNN.v1"
width = 32
depth = 2
embed_size = 500

[components.tagger]
factory = "tagger"

[components.tagger.model.tok2vec]
@architectures = "workbench.Tok2VecListener.v1"
width = 32

[components.upos]
factory = "tagger"
attr = "pos"

[components.upos.model.tok2vec]
@architectures = "workbench.Tok2VecListener.v1"
width = 32
"""


def make_shared():
    nlp = workbench.Pipeline.from_config(TWO_TAGGERS)
    examples = tiny_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    return nlp, examples


def test_blank_pipeline_tokenizes_only():
    nlp = workbench.blank("en")
    doc = nlp("Hello, world!")
    assert doc.words == ["Hello", ",", "world", "!"] and nlp.pipe_names == []
    with pytest.raises(KeyError, match="No component 'tagger'"):
        nlp.get_pipe("tagger")


def test_add_pipe_fills_defaults_and_rejects_duplicates():
    nlp = workbench.blank("en")
    nlp.add_pipe("tok2vec")
    nlp.add_pipe("tagger", config={"attr": "pos"})
    assert nlp.pipe_names == ["tok2vec", "tagger"]
    assert nlp.config["components"]["tagger"]["model"]["tok2vec"]["@architectures"] == "workbench.Tok2VecListener.v1"
    assert nlp.get_pipe("tok2vec").listening_components == ["tagger"]
    with pytest.raises(ConfigError, match="already has a component named 'tagger'"):
        nlp.add_pipe("tagger")


def test_uninitialized_component_explains():
    nlp = workbench.Pipeline.from_config(TWO_TAGGERS)
    with pytest.raises(WorkbenchError, match="not initialized.*nlp.initialize"):
        nlp("Alice works .")


def test_gradients_of_both_listeners_reach_tok2vec_and_add_up():
    nlp, examples = make_shared()
    sgd = Adam(0.01)
    for _ in range(3):  # move the zero-initialised output layers, so gradients flow back
        nlp.update(examples, sgd=sgd)
    nlp.update(examples, drop=0.0)
    both = tok2vec_grads(nlp)
    zero_grads(nlp)
    nlp.update(examples, drop=0.0, exclude=["upos"])
    only_tagger = tok2vec_grads(nlp)
    zero_grads(nlp)
    nlp.update(examples, drop=0.0, exclude=["tagger"])
    only_upos = tok2vec_grads(nlp)
    norms = nlp.get_pipe("tok2vec").grad_norms()
    assert set(norms) == {"tagger", "upos"}
    assert any(numpy.abs(g).sum() > 0 for g in only_tagger.values())
    assert any(numpy.abs(g).sum() > 0 for g in only_upos.values())
    for key, g in both.items():
        numpy.testing.assert_allclose(g, only_tagger[key] + only_upos[key], rtol=1e-4, atol=1e-6)


def test_training_learns_and_optimizer_steps_shared_weights_once():
    nlp, examples = make_shared()
    sgd = Adam(0.01)
    before = nlp.get_pipe("tok2vec").model.to_bytes()
    for _ in range(60):
        nlp.update(examples, drop=0.0, sgd=sgd)
    assert nlp.get_pipe("tok2vec").model.to_bytes() != before
    scores = nlp.evaluate(examples)
    assert scores["tag_acc"] > 0.9 and scores["pos_acc"] > 0.9


def test_frozen_tok2vec_stays_fixed_and_still_feeds_listeners():
    nlp, examples = make_shared()
    sgd = Adam(0.01)
    before = nlp.get_pipe("tok2vec").model.to_bytes()
    tagger_before = nlp.get_pipe("tagger").model.to_bytes()
    losses = {}
    for _ in range(5):
        nlp.update(examples, sgd=sgd, losses=losses, exclude=["tok2vec"])
    assert nlp.get_pipe("tok2vec").model.to_bytes() == before
    assert nlp.get_pipe("tagger").model.to_bytes() != tagger_before
    assert losses["tagger"] > 0


def test_listener_without_upstream_raises_instead_of_zeros():
    nlp = workbench.blank("en")
    nlp.add_pipe("tagger")  # its default model listens to a tok2vec that is not there
    examples = tiny_examples(nlp)
    with pytest.raises(ListenerError, match="not connected.*make_independent"):
        nlp.initialize(lambda: iter(examples))


def test_listener_on_a_different_batch_names_the_cause():
    nlp, examples = make_shared()
    nlp.get_pipe("tok2vec").update(examples[:3])
    with pytest.raises(ListenerError, match="same batch"):
        nlp.get_pipe("tagger").update(examples[3:])


def test_disabled_upstream_at_prediction_is_explained():
    nlp, examples = make_shared()
    with pytest.raises(ListenerError, match="'tok2vec' has not run on this doc"):
        nlp("Alice works .", disable=["tok2vec"])


def test_width_mismatch_is_reported_with_both_widths():
    with pytest.raises(ConfigError, match="width = 16.*outputs width 32"):
        workbench.Pipeline.from_config(TWO_TAGGERS.replace("width = 32\n\n[components.upos]", "width = 16\n\n[components.upos]"))


def test_make_independent_copies_embedding_and_keeps_predictions():
    nlp, examples = make_shared()
    sgd = Adam(0.01)
    for _ in range(10):
        nlp.update(examples, sgd=sgd)
    texts = ["Alice visited Berlin .", "The dog sat ."]
    before = [(d.tags, d.pos) for d in nlp.pipe(texts)]
    nlp.make_independent("upos")
    assert nlp.get_pipe("tok2vec").listening_components == ["tagger"]
    after = [(d.tags, d.pos) for d in nlp.pipe(texts)]
    assert after == before
    block = nlp.config["components"]["upos"]["model"]["tok2vec"]
    assert block["@architectures"] == "workbench.HashEmbedCNN.v1"
    # the independent component runs without the tok2vec
    doc = nlp("Alice visited Berlin .", disable=["tok2vec", "tagger"])
    assert doc.pos == before[0][1]
    with pytest.raises(ConfigError, match="already independent"):
        nlp.make_independent("upos")


def test_save_and_load_give_identical_predictions(tmp_path):
    nlp, examples = make_shared()
    sgd = Adam(0.01)
    for _ in range(10):
        nlp.update(examples, sgd=sgd)
    nlp.to_disk(tmp_path / "p")
    assert (tmp_path / "p" / "config.cfg").exists() and (tmp_path / "p" / "tagger" / "model.msgpack").exists()
    loaded = workbench.load(tmp_path / "p")
    texts = ["Carol joined Acme in London .", "A cat barked ."]
    assert [d.tags for d in loaded.pipe(texts)] == [d.tags for d in nlp.pipe(texts)]
    assert [d.pos for d in loaded.pipe(texts)] == [d.pos for d in nlp.pipe(texts)]
    assert loaded.get_pipe("upos").labels == nlp.get_pipe("upos").labels


def test_load_of_a_folder_without_config_explains(tmp_path):
    with pytest.raises(WorkbenchError, match="not a saved pipeline"):
        workbench.load(tmp_path)


def test_empty_docs_and_empty_batches():
    nlp, examples = make_shared()
    assert nlp.update([], sgd=Adam(0.01)) == {}
    assert list(nlp.pipe([])) == []
    empty = nlp("")
    assert len(empty) == 0 and empty.tags == []


def test_tagger_label_smoothing_target_and_bad_values():
    """The loss gradient is probs - target, with target 1 - s on the gold tag and s / (K - 1)
    on every other tag; tokens without a gold tag add nothing."""
    nlp = workbench.blank("en")
    nlp.add_pipe("tok2vec")
    tagger = nlp.add_pipe("tagger", config={"attr": "pos", "label_smoothing": 0.1})
    examples = tiny_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    K = len(tagger.labels)
    eg = examples[0]
    probs = numpy.full((len(eg.reference), K), 1.0 / K, dtype="f")
    _, (d,) = tagger.get_loss([eg], [probs])
    gold = [tagger.labels.index(p) for p in eg.reference.pos]
    target = numpy.full_like(probs, 0.1 / (K - 1))
    target[numpy.arange(len(gold)), gold] = 0.9
    numpy.testing.assert_allclose(d, probs - target, atol=1e-6)
    numpy.testing.assert_allclose(d.sum(axis=1), 0.0, atol=1e-6)
    plain = workbench.blank("en")
    plain.add_pipe("tok2vec")
    one_hot = plain.add_pipe("tagger", config={"attr": "pos"})
    plain.initialize(lambda: iter(tiny_examples(plain)))
    _, (d0,) = one_hot.get_loss([eg], [probs])
    target0 = numpy.zeros_like(probs)
    target0[numpy.arange(len(gold)), gold] = 1.0
    numpy.testing.assert_allclose(d0, probs - target0, atol=1e-6)
    for bad in (1.0, -0.1, "0.1"):
        with pytest.raises(ConfigError, match="label_smoothing"):
            workbench.blank("en").add_pipe("tagger", config={"label_smoothing": bad})
