"""Text the transformer's tokenizer cannot encode (lone surrogates) is read as U+FFFD,
with a warning naming the doc; never a raw TypeError from the tokenizer."""
import numpy
import pytest

from tests.helpers.trf import save_tiny_bert
from workbench.models.transformer.span_getters import strided_spans
from workbench.text.vocab import Vocab
from workbench.transformers import TextEncodingWarning, TransformerModel


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    m = TransformerModel(str(save_tiny_bert(tmp_path_factory.mktemp("bert"))), get_spans=strided_spans(window=8, stride=6))
    m.initialize()
    return m


def make_docs(*texts):
    from workbench.text.tokenizer import Tokenizer

    tokenizer = Tokenizer(Vocab())
    return [tokenizer(t) for t in texts]


def test_lone_surrogates_become_replacement_characters(model):
    bad = "Hello \ud800 world \udcff again."
    clean = bad.replace("\ud800", "\ufffd").replace("\udcff", "\ufffd")
    docs = make_docs("A fine doc.", bad)
    with pytest.warns(TextEncodingWarning) as record:
        out = model.predict(docs)
    messages = [str(w.message) for w in record if issubclass(w.category, TextEncodingWarning)]
    assert len(messages) == 1
    assert messages[0].startswith("Doc 1 of the batch ('Hello \ufffd world \ufffd again.') holds 2 lone surrogate(s) "
                                  "(first U+D800 at character 6)")
    expected = model.predict(make_docs("A fine doc.", clean))
    for got, want, doc in zip(out.doc_data, expected.doc_data, docs):
        assert got.n_tokens == len(doc)  # BERT's normalizer drops U+FFFD: as for the clean text
        assert got.unaligned_tokens.tolist() == want.unaligned_tokens.tolist()
        numpy.testing.assert_allclose(got.token_vectors(), want.token_vectors(), atol=1e-6)


def test_clean_text_gives_no_warning(model, recwarn):
    model.predict(make_docs("Nothing odd here.", "Ünïcödé is fine: 日本語."))
    assert not [w for w in recwarn if issubclass(w.category, TextEncodingWarning)]
