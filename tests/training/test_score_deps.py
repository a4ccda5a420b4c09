"""score_deps against hand-computed UAS, LAS, per-label LAS and sentence F."""
import pytest

from workbench.scorer import score_deps
from workbench.text.doc import Doc
from workbench.text.syntax import sent_starts_from_heads
from workbench.text.vocab import Vocab
from workbench.training.example import Example

WORDS = "She ate the fish . It was good .".split()
GOLD_HEADS = [1, 1, 3, 1, 1, 7, 7, 7, 7]
GOLD_DEPS = "nsubj root det obj punct nsubj cop root punct".split()
# right: She, ate (ROOT: case does not matter), fish, good; wrong label: the (amod);
# wrong head: It, was (was is a root: sentence 2 split in two by the parse)
PRED_HEADS = [1, 1, 3, 1, 1, 6, 6, 7, 7]
PRED_DEPS = "nsubj ROOT amod obj punct nsubj root root punct".split()


def parsed(vocab, heads, deps):
    doc = Doc(vocab, words=WORDS, heads=heads, deps=deps)
    doc.sent_starts = sent_starts_from_heads(heads)
    return doc


def test_attachment_scores_by_hand():
    vocab = Vocab()
    eg = Example(parsed(vocab, PRED_HEADS, PRED_DEPS), parsed(vocab, GOLD_HEADS, GOLD_DEPS))
    unparsed = Doc(vocab, words=["no", "parse"])  # a reference without heads is not scored
    scores = score_deps([eg, Example(Doc(vocab, words=["no", "parse"]), unparsed)])
    # 7 scored tokens (the two punct are not): heads right on 5, heads and labels on 4
    assert scores["dep_uas"] == pytest.approx(5 / 7)
    assert scores["dep_las"] == pytest.approx(4 / 7)
    per = scores["dep_las_per_type"]
    assert set(per) == {"nsubj", "root", "det", "amod", "obj", "cop"}  # punct is left out
    assert per["nsubj"] == pytest.approx({"p": 0.5, "r": 0.5, "f": 0.5})  # It: right label, wrong head
    assert per["root"] == pytest.approx({"p": 2 / 3, "r": 1.0, "f": 0.8})  # was predicted root, gold cop
    assert per["obj"] == pytest.approx({"p": 1.0, "r": 1.0, "f": 1.0})
    for label in ("det", "amod", "cop"):
        assert per[label]["f"] == 0.0
    # sentences: predicted [0,5) [5,7) [7,9) against gold [0,5) [5,9): P 1/3, R 1/2
    assert scores["sents_p"] == pytest.approx(1 / 3) and scores["sents_r"] == pytest.approx(0.5)
    assert scores["sents_f"] == pytest.approx(0.4)


def test_perfect_parse_and_no_parse():
    vocab = Vocab()
    gold = parsed(vocab, GOLD_HEADS, GOLD_DEPS)
    perfect = score_deps([Example(parsed(vocab, GOLD_HEADS, GOLD_DEPS), gold)])
    assert perfect["dep_uas"] == perfect["dep_las"] == perfect["sents_f"] == 1.0
    nothing = score_deps([Example(Doc(vocab, words=WORDS), gold)])
    assert nothing["dep_uas"] == nothing["dep_las"] == 0.0
    assert nothing["dep_las_per_type"]["root"] == {"p": 0.0, "r": 0.0, "f": 0.0}
    # punctuation counts when it is not ignored: 2 more tokens, both attached right
    with_punct = score_deps([Example(parsed(vocab, PRED_HEADS, PRED_DEPS), gold)], ignore_labels=())
    assert with_punct["dep_uas"] == pytest.approx(7 / 9) and with_punct["dep_las"] == pytest.approx(6 / 9)
