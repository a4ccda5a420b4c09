"""Example: predicted/reference pairs over the same words."""
import pytest

from workbench.errors import DataError
from workbench.text.doc import Doc
from workbench.text.vocab import Vocab
from workbench.training.example import Example


@pytest.fixture
def vocab():
    return Vocab()


def gold(vocab):
    return Doc(vocab, ["Ada", "wrote", "code", "."], [True, True, False, False],
               tags=["NNP", "VBD", "NN", "."], pos=["PROPN", "VERB", "NOUN", "PUNCT"],
               sent_starts=[True, False, False, False], ents=[(0, 1, "PER")])


def test_from_gold_copies_words_not_annotation(vocab):
    ref = gold(vocab)
    eg = Example.from_gold(vocab, ref)
    assert eg.reference is ref and eg.y is ref and eg.x is eg.predicted
    assert eg.predicted.words == ref.words and eg.predicted.spaces == ref.spaces
    assert eg.predicted.words is not ref.words
    assert eg.predicted.tags == [None] * 4 and eg.predicted.ents == ()
    assert eg.predicted.text == "Ada wrote code."
    assert len(eg) == 4 and eg.text == "Ada wrote code."
    assert repr(eg) == "Example(4 words: 'Ada wrote code.')"


def test_predicted_annotation_does_not_touch_reference(vocab):
    eg = Example.from_gold(vocab, gold(vocab))
    eg.predicted.tags = ["X"] * 4
    assert eg.reference.tags == ["NNP", "VBD", "NN", "."]


def test_mismatched_words_name_the_first_difference(vocab):
    ref = gold(vocab)
    other = Doc(vocab, ["Ada", "writes", "code", "."])
    with pytest.raises(DataError, match=r"differ at token 1: 'writes' != 'wrote'"):
        Example(other, ref)
    with pytest.raises(DataError, match="predicted has 2 words but reference has 4"):
        Example(Doc(vocab, ["Ada", "wrote"]), ref)


def test_from_dict_and_to_dict_round_trip(vocab):
    data = gold(vocab).to_json()
    eg = Example.from_dict(vocab, data)
    assert eg.to_dict() == data
    assert [(e.start, e.end, e.label_) for e in eg.reference.ents] == [(0, 1, "PER")]
