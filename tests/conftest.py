"""Shared fixtures: a tiny annotated corpus written inline, and paths to the shared data."""
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

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


@pytest.fixture(autouse=True)
def _widget_test_cleanup(request):
    """Widget tests (test_widgets_*.py): the Agg backend, and no widget left open after each test."""
    if not request.module.__name__.rsplit(".", 1)[-1].startswith("test_widgets"):
        yield
        return
    import matplotlib

    matplotlib.use("Agg")
    yield
    from ipywidgets import Widget

    Widget.close_all()
