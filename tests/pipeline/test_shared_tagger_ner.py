"""A tagger and an entity recognizer sharing one tok2vec, as in the specification."""
import numpy
import pytest
from thinc.api import Adam

import workbench
from tests.helpers import tiny_examples, tok2vec_grads, zero_grads
from workbench.config import fill_config, parse_config
from workbench.errors import DataError

# The specification's "Shared" example, plus a tagger; widths kept small for speed.
SPEC_SHARED = """
[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v1"

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v1"
width = 32

[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v1"
width = 32
depth = 2

[components.tagger]
factory = "tagger"

[components.tagger.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = 32

[components.ner]
factory = "ner"

[components.ner.model]
@architectures = "spacy.TransitionBasedParser.v1"

[components.ner.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = 32
"""

SPEC_INDEPENDENT = """
[components.ner]
factory = "ner"

[components.ner.model]
@architectures = "spacy.TransitionBasedParser.v1"

[components.ner.model.tok2vec]
@architectures = "spacy.Tok2Vec.v1"

[components.ner.model.tok2vec.embed]
@architectures = "spacy.MultiHashEmbed.v1"

[components.ner.model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v1"
"""


def trained(config: str, steps: int = 40):
    nlp = workbench.Pipeline.from_config(config)
    examples = tiny_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    sgd = Adam(0.01)
    for _ in range(steps):
        nlp.update(examples, sgd=sgd)
    return nlp, examples


def test_spec_configs_fill_and_build():
    shared = fill_config(parse_config(SPEC_SHARED))
    assert shared["components"]["ner"]["model"]["nr_feature_tokens"] is None  # the NER's default: 3
    assert len(workbench.Pipeline.from_config(SPEC_SHARED).get_pipe("ner").model.attrs["feature_slots"]) == 3
    indep = workbench.Pipeline.from_config(SPEC_INDEPENDENT)
    assert indep.pipe_names == ["ner"]


def test_gradients_from_tagger_and_ner_both_reach_shared_tok2vec():
    nlp, examples = trained(SPEC_SHARED, steps=3)
    zero_grads(nlp)
    nlp.update(examples)
    both = tok2vec_grads(nlp)
    zero_grads(nlp)
    nlp.update(examples, exclude=["ner"])
    tagger_only = tok2vec_grads(nlp)
    zero_grads(nlp)
    nlp.update(examples, exclude=["tagger"])
    ner_only = tok2vec_grads(nlp)
    assert set(nlp.get_pipe("tok2vec").grad_norms()) == {"tagger", "ner"}
    assert sum(float(numpy.abs(g).sum()) for g in ner_only.values()) > 0
    assert sum(float(numpy.abs(g).sum()) for g in tagger_only.values()) > 0
    for key, g in both.items():
        numpy.testing.assert_allclose(g, tagger_only[key] + ner_only[key], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("config", [SPEC_SHARED, SPEC_INDEPENDENT], ids=["shared", "independent"])
def test_spec_configs_learn_entities(config):
    nlp, examples = trained(config, steps=60)
    scores = nlp.evaluate(examples)
    assert scores["ents_f"] > 0.8
    doc = nlp("Alice works for Acme in Paris .")
    assert [(e.text, e.label_) for e in doc.ents] == [("Alice", "PER"), ("Acme", "ORG"), ("Paris", "LOC")]
    assert set(scores["ents_per_type"]) == {"PER", "ORG", "LOC"}


def test_make_independent_ner_keeps_predictions_and_save_load_round_trip(tmp_path):
    nlp, examples = trained(SPEC_SHARED, steps=30)
    texts = ["Bob joined Globex in Berlin .", "The cat sat .", "Carol Smith left Paris ."]
    before = [([(e.start, e.end, e.label_) for e in d.ents], d.tags) for d in nlp.pipe(texts)]
    nlp.make_independent("ner")
    after = [([(e.start, e.end, e.label_) for e in d.ents], d.tags) for d in nlp.pipe(texts)]
    assert after == before
    assert nlp.get_pipe("tok2vec").listening_components == ["tagger"]
    copied = nlp.get_pipe("ner").model.get_ref("tok2vec")
    assert copied.get_ref("embed").get_dim("nO") == 32  # refs survive the copy
    assert copied.id != nlp.get_pipe("tok2vec").model.id  # its own weights for the optimizer
    nlp.to_disk(tmp_path / "p")
    loaded = workbench.load(tmp_path / "p")
    again = [([(e.start, e.end, e.label_) for e in d.ents], d.tags) for d in loaded.pipe(texts)]
    assert again == before


def test_unknown_entity_label_in_training_is_named():
    nlp, examples = trained(SPEC_SHARED, steps=1)
    bad = tiny_examples(nlp)[:1]
    bad[0].reference.ents = [(0, 1, "MISC")]
    with pytest.raises(DataError, match="'MISC'.*not seen at initialize"):
        nlp.update(bad)


def test_entities_off_token_boundaries_are_rejected():
    nlp = workbench.blank("en")
    doc = nlp.make_doc("Alice works for Acme.")
    assert doc.char_span(0, 3, label="PER") is None  # "Ali" does not end on a token boundary
    with pytest.raises(DataError, match="outside the doc's 5 tokens"):
        doc.ents = [(0, 9, "PER")]
    with pytest.raises(DataError, match="overlap"):
        doc.ents = [(0, 2, "PER"), (1, 3, "ORG")]
