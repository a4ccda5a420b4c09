import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.errors import DataError
from workbench.text.biluo import (
    biluo_to_iob,
    biluo_to_spans,
    iob_to_biluo,
    spans_to_biluo,
    spans_to_iob,
)


@pytest.mark.parametrize(
    "iob,biluo",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "L-PER", "O", "U-LOC"]),  # IOB2
        (["I-PER", "I-PER", "O", "I-LOC"], ["B-PER", "L-PER", "O", "U-LOC"]),  # IOB1
        (["I-PER", "B-PER", "I-PER"], ["U-PER", "B-PER", "L-PER"]),           # IOB1 adjacent
        (["B-PER", "B-PER"], ["U-PER", "U-PER"]),
        (["B-PER", "I-LOC"], ["U-PER", "U-LOC"]),                              # type change starts new
        (["B-ORG", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "L-ORG"]),
        (["O", "-", "B-X"], ["O", "-", "U-X"]),                                 # "-" is missing
        ([], []),
    ],
)
def test_iob_to_biluo(iob, biluo):
    assert iob_to_biluo(iob) == biluo


@pytest.mark.parametrize("bad,index", [(["O", "X-PER"], 1), (["B-"], 0), (["BPER"], 0),
                                       (["O", "O", "U-PER"], 2), (["PER"], 0)])
def test_iob_malformed_tag_names_index(bad, index):
    with pytest.raises(DataError, match=f"Token {index}: malformed entity tag"):
        iob_to_biluo(bad)


def test_biluo_to_spans():
    tags = ["U-PER", "O", "B-LOC", "I-LOC", "L-LOC", "-", "U-ORG"]
    assert biluo_to_spans(tags) == [(0, 1, "PER"), (2, 5, "LOC"), (6, 7, "ORG")]
    assert biluo_to_spans(["O", "O"]) == []


@pytest.mark.parametrize(
    "tags,message",
    [
        (["O", "I-PER"], "Token 1: tag 'I-PER' has no opening 'B-PER'"),
        (["L-PER"], "Token 0: tag 'L-PER' has no opening"),
        (["B-PER", "O"], "Token 1: tag 'O' follows the entity opened at token 0"),
        (["B-PER", "I-LOC", "L-LOC"], "Token 1: tag 'I-LOC' follows"),
        (["B-PER", "U-PER"], "Token 1"),
        (["B-PER", "I-PER"], "Token 0: entity 'B-PER' is never closed"),
        (["O", "Q-PER"], "Token 1: malformed"),
    ],
)
def test_biluo_malformed(tags, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        biluo_to_spans(tags)


def test_spans_to_biluo_and_iob():
    spans = [(3, 4, "ORG"), (0, 2, "PER")]
    assert spans_to_biluo(5, spans) == ["B-PER", "L-PER", "O", "U-ORG", "O"]
    assert spans_to_iob(5, spans) == ["B-PER", "I-PER", "O", "B-ORG", "O"]
    assert spans_to_biluo(4, [(0, 4, "X")]) == ["B-X", "I-X", "I-X", "L-X"]
    assert biluo_to_iob(["U-A", "B-B", "L-B", "O"]) == ["B-A", "B-B", "I-B", "O"]


@pytest.mark.parametrize(
    "spans,message",
    [([(0, 2, "A"), (1, 3, "B")], "overlaps another entity at token 1"),
     ([(2, 2, "A")], "outside"), ([(3, 6, "A")], "outside"), ([(-1, 1, "A")], "outside"),
     ([(0, 1, "")], "empty label")],
)
def test_spans_to_biluo_errors(spans, message):
    with pytest.raises(DataError, match=message):
        spans_to_biluo(5, spans)


@st.composite
def span_lists(draw):
    n = draw(st.integers(0, 30))
    cuts = sorted(draw(st.sets(st.integers(0, n), max_size=12)))
    labels = st.sampled_from(["PER", "LOC", "ORG"])
    spans = []
    for a, b in zip(cuts[::2], cuts[1::2]):  # disjoint, non-empty
        if b > a:
            spans.append((a, b, draw(labels)))
    return n, spans


@given(span_lists())
def test_round_trips(case):
    n, spans = case
    biluo = spans_to_biluo(n, spans)
    assert biluo_to_spans(biluo) == spans
    iob = biluo_to_iob(biluo)
    assert iob_to_biluo(iob) == biluo
    assert biluo_to_spans(iob_to_biluo(spans_to_iob(n, spans))) == spans
