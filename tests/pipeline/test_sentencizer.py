"""The rule-based sentencizer."""
import workbench


def test_sentencizer_splits_after_final_punctuation():
    nlp = workbench.blank("en")
    nlp.add_pipe("sentencizer")
    doc = nlp('He left. "Why?" she asked! Then silence... The end')
    assert [s.text for s in doc.sents] == ["He left.", '"Why?"', "she asked!", "Then silence...", "The end"]


def test_sentencizer_keeps_existing_boundaries_and_feeds_sent_spans():
    from workbench.models.transformer.span_getters import get_sent_spans

    nlp = workbench.blank("en")
    nlp.add_pipe("sentencizer")
    doc = workbench.Doc(nlp.vocab, words=["a", ".", "b", "."], sent_starts=[True, False, True, False])
    doc.sent_starts = [True, False, False, False]
    assert [s.text for s in nlp(doc).sents] == ["a . b ."]
    doc = nlp("One sentence here. Another one there.")
    assert [(s.start, s.end) for s in get_sent_spans([doc])[0]] == [(0, 4), (4, 8)]
    assert nlp.config["components"]["sentencizer"]["overwrite"] is False
