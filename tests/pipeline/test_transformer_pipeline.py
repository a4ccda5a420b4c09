"""The transformer component, doc._.trf_data, annotation setters and TransformerListener."""
import numpy
import pytest
import torch
from thinc.api import Adam, constant, constant_then

import workbench
from tests.helpers.trf import build, save_tiny_bert, trf_config, trf_weights
from workbench.errors import ConfigError
from workbench.models.listener import find_channels
from workbench.models.transformer.annotation_setters import null_annotation_setter
from workbench.models.transformer.span_getters import get_doc_spans
from workbench.transformers import FullTransformerBatch, Transformer, TransformerData, TransformerModel


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


def same(a, b):
    return all(bool((a[k] == b[k]).all()) for k in a)


def test_trf_data_is_set_on_cpu_with_accessors(tiny_bert):
    nlp, _ = build(trf_config(tiny_bert, ner=False))
    doc = nlp("alice visited paris .")
    data = doc._.trf_data
    assert isinstance(data, TransformerData)
    assert isinstance(data.tensors[-1], numpy.ndarray) and data.tensors[-1].shape[1] == 32
    assert data.token_vectors().shape == (4, 32)
    assert data.doc_vector().shape == (32,)
    assert data.wordpieces.strings[0][0] == "[CLS]"
    assert len(data.align.lengths) == len(doc)


def test_null_annotation_setter_drops_trf_data_but_listeners_still_work(tiny_bert):
    nlp, _ = build(trf_config(tiny_bert, ner=False))
    nlp.get_pipe("transformer").annotation_setter = null_annotation_setter
    doc = nlp("alice visited paris .")
    assert doc._.trf_data is None
    assert len(doc.tags) == 4 and all(doc.tags)


def test_custom_annotation_setter_from_the_specification(tiny_bert):
    nlp, _ = build(trf_config(tiny_bert, ner=False))
    workbench.Doc.set_extension("custom_attr", default=None, force=True)

    def custom_annotation_setter(docs, trf_data):
        doc_data = list(trf_data.doc_data)
        for doc, data in zip(docs, doc_data):
            doc._.custom_attr = data

    nlp.get_pipe("transformer").annotation_setter = custom_annotation_setter
    doc = nlp("This is a text")
    assert isinstance(doc._.custom_attr, TransformerData)
    assert doc._.custom_attr.tensors[-1].shape[1] == 32
    workbench.Doc.remove_extension("custom_attr")


@pytest.mark.parametrize("pooling", ["reduce_mean.v1", "reduce_max.v1", "reduce_first.v1", "reduce_last.v1", "reduce_sum.v1"])
def test_pooling_layers_train_a_tagger(tiny_bert, pooling):
    nlp, examples = build(trf_config(tiny_bert, ner=False, pooling=pooling))
    sgd = Adam(0.01)
    for _ in range(25):
        nlp.update(examples, sgd=sgd)
    assert nlp.evaluate(examples)["tag_acc"] > 0.8


def test_transformer_weights_change_with_grad_factor_and_stay_with_zero(tiny_bert):
    nlp, examples = build(trf_config(tiny_bert))
    before = trf_weights(nlp)
    nlp.update(examples, sgd=Adam(0.001))
    assert not same(before, trf_weights(nlp))

    nlp, examples = build(trf_config(tiny_bert, tagger_factor=0.0, ner_factor=0.0))
    before = trf_weights(nlp)
    losses = {}
    nlp.update(examples, sgd=Adam(0.001), losses=losses)
    assert same(before, trf_weights(nlp))
    assert losses["tagger"] > 0 and losses["ner"] > 0  # the heads still learn


def test_frozen_transformer_stays_bit_identical(tiny_bert):
    nlp, examples = build(trf_config(tiny_bert))
    before = trf_weights(nlp)
    tagger_before = nlp.get_pipe("tagger").model.to_bytes()
    for _ in range(2):
        nlp.update(examples, sgd=Adam(0.001), exclude=["transformer"])
    assert same(before, trf_weights(nlp))
    assert nlp.get_pipe("tagger").model.to_bytes() != tagger_before


def test_each_listener_weights_its_own_gradient(tiny_bert):
    nlp, examples = build(trf_config(tiny_bert, tagger_factor=1.0, ner_factor=1.0))
    sgd = Adam(0.01)
    for _ in range(3):
        nlp.update(examples, sgd=sgd)
    trf = nlp.get_pipe("transformer")

    def norms_with(tagger_factor, ner_factor):
        for name, factor in (("tagger", tagger_factor), ("ner", ner_factor)):
            for channel in find_channels(nlp.get_pipe(name).model):
                channel.grad_factor = factor
        torch.manual_seed(0)  # the same dropout masks inside the transformer for both runs
        nlp.update(examples)  # no optimizer: weights stay, gradients are recorded
        return trf.grad_norms()

    base = norms_with(1.0, 1.0)
    scaled = norms_with(2.0, 0.5)
    assert scaled["tagger"] == pytest.approx(2.0 * base["tagger"], rel=1e-4)
    assert scaled["ner"] == pytest.approx(0.5 * base["ner"], rel=1e-4)
    assert trf.grad_factors() == {"tagger": 2.0, "ner": 0.5}


def test_grad_factor_schedule_freezes_then_fine_tunes(tiny_bert):
    nlp, examples = build(trf_config(tiny_bert, ner=False))
    channel = find_channels(nlp.get_pipe("tagger").model)[0]
    channel.grad_factor = constant_then(0.0, 2, constant(1.0))  # frozen for 2 steps
    sgd = Adam(0.001)
    snapshots = [trf_weights(nlp)]
    for _ in range(3):
        nlp.update(examples, sgd=sgd)
        snapshots.append(trf_weights(nlp))
    assert same(snapshots[0], snapshots[1]) and same(snapshots[1], snapshots[2])
    assert not same(snapshots[2], snapshots[3])
    assert nlp.get_pipe("transformer").grad_factors() == {"tagger": 1.0}


def test_python_equivalent_of_the_config(tiny_bert):
    nlp = workbench.blank("en")
    trf = Transformer(
        nlp.vocab,
        TransformerModel(str(tiny_bert), get_spans=get_doc_spans, tokenizer_config={"use_fast": True}),
        annotation_setter=null_annotation_setter,
        max_batch_items=4096,
    )
    nlp.add_component("transformer", trf)
    nlp.initialize()
    doc = nlp("alice worked in berlin .")
    assert doc._.trf_data is None
    batch = trf.predict([nlp.make_doc("a cat sat .")])
    assert isinstance(batch, FullTransformerBatch) and batch.doc_data[0].token_vectors().shape == (4, 32)


def test_save_and_load_reload_offline(tiny_bert, tmp_path):
    nlp, examples = build(trf_config(tiny_bert))
    sgd = Adam(0.01)
    for _ in range(5):
        nlp.update(examples, sgd=sgd)
    nlp.to_disk(tmp_path / "p")
    assert (tmp_path / "p" / "transformer" / "model").exists()
    loaded = workbench.load(tmp_path / "p")
    texts = ["alice visited paris .", "the cat sat on the mat ."]
    a, b = list(nlp.pipe(texts)), list(loaded.pipe(texts))
    assert [d.tags for d in a] == [d.tags for d in b]
    assert [[(e.start, e.end, e.label_) for e in d.ents] for d in a] == [[(e.start, e.end, e.label_) for e in d.ents] for d in b]
    numpy.testing.assert_allclose(a[0]._.trf_data.tensors[-1], b[0]._.trf_data.tensors[-1], rtol=1e-5, atol=1e-5)


def test_listener_without_transformer_is_explained(tiny_bert):
    text = trf_config(tiny_bert, ner=False).split("[components.tagger]")[1]
    with pytest.raises(Exception, match="not connected"):
        build("[components.tagger]" + text)


def test_max_batch_items_must_be_positive(tiny_bert):
    with pytest.raises(ConfigError, match="max_batch_items"):
        workbench.Pipeline.from_config(trf_config(tiny_bert, ner=False).replace("max_batch_items = 512", "max_batch_items = 0"))


def test_long_document_goes_through_in_wordpiece_budgeted_batches(tiny_bert):
    config = trf_config(tiny_bert, ner=False).replace(
        '@span_getters = "spacy-transformers.doc_spans.v1"',
        '@span_getters = "spacy-transformers.strided_spans.v1"\nwindow = 40\nstride = 32')
    nlp, _ = build(config)
    trf = nlp.get_pipe("transformer")
    words = ("alice visited paris and the cat sat on the mat . " * 5000).split()
    assert len(words) == 55000
    doc = workbench.Doc(nlp.vocab, words=words)
    batch = trf.predict([doc])
    stats = batch.stats
    assert stats["real_wordpieces"] >= len(words)
    # every sub-batch stays within max_batch_items padded wordpieces
    assert stats["padded_wordpieces"] <= stats["n_subbatches"] * trf.max_batch_items
    assert stats["n_subbatches"] > 1
    out = nlp(doc)
    assert len(out.tags) == 55000 and all(out.tags)
    assert out._.trf_data.token_vectors().shape == (55000, 32)


def test_use_averages_covers_the_transformer_weights(tiny_bert):
    """The optimizer's averages of the torch weights are swapped in and out like the
    heads' (thinc's own PyTorchShim.use_params never finds them)."""
    nlp, examples = build(trf_config(tiny_bert, ner=False))
    optimizer = Adam(0.001, use_averages=True)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    shim = nlp.get_pipe("transformer").model.layers[0].shims[0]
    name = "embeddings.word_embeddings.weight"
    raw = trf_weights(nlp)[name]
    average = torch.from_numpy(numpy.array(optimizer.averages[(shim.id, name)]))
    assert not torch.equal(raw, average)
    with nlp.use_params(optimizer.averages):
        assert torch.equal(trf_weights(nlp)[name], average)
        guesses = [d.pos for d in nlp.pipe([workbench.Doc(nlp.vocab, words=eg.reference.words) for eg in examples])]
    assert torch.equal(trf_weights(nlp)[name], raw)
    assert len(guesses) == len(examples)
    n = nlp.set_params(optimizer.averages)
    assert n == len(optimizer.averages)
    assert torch.equal(trf_weights(nlp)[name], average)
