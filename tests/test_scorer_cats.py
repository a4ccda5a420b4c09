"""score_cats against hand-computed values: accuracy, macro / micro F, per-label P/R/F, thresholds."""
import pytest

import workbench
from workbench import Doc, Example
from workbench.scorer import score_cats

VOCAB = workbench.blank("en").vocab


def example(gold, pred):
    return Example(Doc(VOCAB, words=["w"], cats=pred), Doc(VOCAB, words=["w"], cats=gold))


def one_hot(label, labels="ABC"):
    return {x: float(x == label) for x in labels}


EXCLUSIVE = [
    example(one_hot("A"), {"A": 0.7, "B": 0.2, "C": 0.1}),   # right
    example(one_hot("A"), {"A": 0.3, "B": 0.6, "C": 0.1}),   # A missed, B false positive
    example(one_hot("B"), {"A": 0.1, "B": 0.8, "C": 0.1}),   # right
    example(one_hot("C"), {"A": 0.5, "B": 0.1, "C": 0.4}),   # C missed, A false positive
    example(one_hot("B"), {"A": 0.2, "B": 0.5, "C": 0.3}),   # right
    example({}, {"A": 0.9, "B": 0.05, "C": 0.05}),           # no gold cats: not scored
]


def test_exclusive_scores():
    s = score_cats(EXCLUSIVE, ["A", "B", "C"])
    per = s["cats_f_per_type"]
    assert per["A"] == pytest.approx({"p": 0.5, "r": 0.5, "f": 0.5})
    assert per["B"] == pytest.approx({"p": 2 / 3, "r": 1.0, "f": 0.8})
    assert per["C"] == {"p": 0.0, "r": 0.0, "f": 0.0}
    assert s["cats_accuracy"] == pytest.approx(3 / 5)
    assert s["cats_macro_f"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert s["cats_score"] == s["cats_macro_f"]
    assert s["cats_micro_f"] == pytest.approx(0.6)  # tp 3, fp 2, fn 2


def test_a_doc_without_predictions_counts_as_missed():
    s = score_cats([example(one_hot("A"), {})], ["A", "B", "C"])
    assert s["cats_accuracy"] == 0.0 and s["cats_f_per_type"]["A"]["r"] == 0.0


MULTI = [
    example({"X": 1.0, "Y": 0.0}, {"X": 0.9, "Y": 0.4}),
    example({"X": 1.0, "Y": 1.0}, {"X": 0.6, "Y": 0.2}),
    example({"X": 0.0, "Y": 1.0}, {"X": 0.55, "Y": 0.7}),
    example({"X": 0.0, "Y": 0.0}, {"X": 0.1, "Y": 0.45}),
]


def test_multilabel_scores_at_the_default_threshold():
    s = score_cats(MULTI, ["X", "Y"], multi_label=True)
    assert s["cats_f_per_type"]["X"] == pytest.approx({"p": 2 / 3, "r": 1.0, "f": 0.8})
    assert s["cats_f_per_type"]["Y"] == pytest.approx({"p": 1.0, "r": 0.5, "f": 2 / 3})
    assert s["cats_accuracy"] == pytest.approx(0.5)  # docs 1 and 4 have the exact label set
    assert s["cats_macro_f"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert s["cats_micro_f"] == pytest.approx(0.75)  # tp 3, fp 1, fn 1


def test_multilabel_threshold_moves_the_decisions():
    s = score_cats(MULTI, ["X", "Y"], multi_label=True, threshold=0.4)
    assert s["cats_f_per_type"]["X"]["f"] == pytest.approx(0.8)
    assert s["cats_f_per_type"]["Y"] == pytest.approx({"p": 1 / 3, "r": 0.5, "f": 0.4})  # 0.4 and 0.45 now on
    assert s["cats_accuracy"] == 0.0
    assert s["cats_macro_f"] == pytest.approx(0.6)
