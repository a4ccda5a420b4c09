"""Builders shared by the tests: a tiny annotated corpus, the shared data, gradient helpers.

`tests.helpers.trf` builds a tiny random BERT; `tests.helpers.pretrain` holds pretraining configs.
"""
import contextlib
import unittest.mock
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the repository
SHARED_DATA = ROOT.parent / "shared" / "data"

# (words, UPOS, entities as (start, end, label))
TINY = [
    ("Alice works for Acme in Paris .".split(), "PROPN VERB ADP PROPN ADP PROPN PUNCT".split(), [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC")]),
    ("Bob visited London last week .".split(), "PROPN VERB PROPN ADJ NOUN PUNCT".split(), [(0, 1, "PER"), (2, 3, "LOC")]),
    ("The cat sat on the mat .".split(), "DET NOUN VERB ADP DET NOUN PUNCT".split(), []),
    ("Carol Smith joined Globex Corp in Berlin .".split(), "PROPN PROPN VERB PROPN PROPN ADP PROPN PUNCT".split(), [(0, 2, "PER"), (3, 5, "ORG"), (6, 7, "LOC")]),
    ("A dog barked loudly .".split(), "DET NOUN VERB ADV PUNCT".split(), []),
    ("Dave left Acme for Initech .".split(), "PROPN VERB PROPN ADP PROPN PUNCT".split(), [(0, 1, "PER"), (2, 3, "ORG"), (4, 5, "ORG")]),
]


def tiny_examples(nlp):
    from workbench import Doc, Example

    out = []
    for words, pos, ents in TINY:
        ref = Doc(nlp.vocab, words=words, pos=pos, tags=pos, ents=ents, sent_starts=[True] + [False] * (len(words) - 1))
        out.append(Example.from_gold(nlp.vocab, ref))
    return out


def shared_data(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (the tests read ../shared/data beside the repository)")
    return path


def tok2vec_grads(nlp):
    model = nlp.get_pipe("tok2vec").model
    return {(node.id, name): node.get_grad(name).copy() for node in model.walk() for name in node.grad_names}


def zero_grads(nlp):
    for _, comp in nlp.components:
        for node in comp.model.walk():
            for name in node.grad_names:
                node.set_grad(name, node.get_grad(name) * 0)


@contextlib.contextmanager
def zero_learn_rate():
    """Train with the optimizer's learn_rate at 0, so the weights never move (a config
    refuses learn_rate = 0: [training.optimizer] learn_rate must be > 0)."""
    import workbench.training.initialize as initialize_module

    real = initialize_module.initialize_pipeline

    def with_zero_rate(*args, **kwargs):
        optimizer = real(*args, **kwargs)
        optimizer.learn_rate = 0.0
        return optimizer

    with unittest.mock.patch.object(initialize_module, "initialize_pipeline", side_effect=with_zero_rate):
        yield
