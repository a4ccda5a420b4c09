"""TransformerListener(layer_mix = true): a learned scalar mix of every hidden state."""
import numpy
import pytest
from thinc.api import Adam

import workbench
from tests.helpers.trf import save_tiny_bert
from tests.pipeline.test_transformer_pipeline import build, same, trf_config, trf_weights
from workbench.errors import ConfigError
from workbench.models.transformer.listener import layer_weights


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


def mix_config(path, *, ner=False, tagger_factor=1.0):
    text = trf_config(path, ner=ner, tagger_factor=tagger_factor)
    return text.replace(f"grad_factor = {tagger_factor}\n", f"grad_factor = {tagger_factor}\nlayer_mix = true\n", 1)


def listener(nlp, name="tagger"):
    return nlp.get_pipe(name).model.get_ref("tok2vec") if nlp.get_pipe(name).model.has_ref("tok2vec") else \
        next(n for n in nlp.get_pipe(name).model.walk() if n.name == "transformer-listener")


def test_every_hidden_state_is_kept_only_while_a_listener_mixes(tiny_bert):
    nlp, _ = build(trf_config(tiny_bert, ner=False))
    assert nlp("alice visited paris .")._.trf_data.all_hidden_states is None
    nlp, _ = build(mix_config(tiny_bert, ner=True))  # the tagger mixes, the ner reads the last layer
    data = nlp("alice visited paris .")._.trf_data
    assert len(data.all_hidden_states) == 3  # embeddings + 2 layers of the tiny BERT
    node = listener(nlp)
    assert node.get_dim("nL") == 3
    numpy.testing.assert_allclose(layer_weights(node), [1 / 3] * 3, rtol=1e-6)  # starts as an even mix
    assert float(node.get_param("mix_scale")[0]) == 1.0
    nlp.remove_pipe("tagger")
    assert nlp.get_pipe("transformer").model.attrs["listeners_need_layers"] is False


def test_the_mix_is_the_softmax_weighted_sum_of_the_layers_times_the_scale(tiny_bert):
    nlp, _ = build(mix_config(tiny_bert))
    node = listener(nlp)
    w = numpy.asarray([0.5, -1.0, 2.0], dtype="float32")
    node.set_param("mix_weights", w)
    node.set_param("mix_scale", numpy.asarray([1.5], dtype="f"))
    doc = nlp("alice visited paris .")
    data = doc._.trf_data
    alpha = numpy.exp(w) / numpy.exp(w).sum()
    expected = 1.5 * sum(a * data.token_vectors(layer=k) for k, a in enumerate(alpha))  # (n_tokens, width)
    trf = nlp.get_pipe("transformer")
    doc2 = nlp.make_doc("alice visited paris .")
    trf.process([doc2])
    (got,) = node.predict([doc2])
    numpy.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not numpy.allclose(got, data.token_vectors(), atol=1e-3)  # not the last layer


def test_mix_weights_learn_with_the_transformer_frozen(tiny_bert):
    nlp, examples = build(mix_config(tiny_bert))
    node = listener(nlp)
    before, trf_before = layer_weights(node).copy(), trf_weights(nlp)
    sgd = Adam(0.05)
    losses = []
    for _ in range(30):
        step = {}
        nlp.update(examples, sgd=sgd, exclude=["transformer"], losses=step)
        losses.append(step["tagger"])
    after = layer_weights(node)
    assert numpy.abs(after - before).max() > 0.02, after  # the shares moved off the even mix
    assert after.sum() == pytest.approx(1.0, abs=1e-5)
    assert float(node.get_param("mix_scale")[0]) != 1.0
    assert losses[-1] < 0.5 * losses[0]
    assert same(trf_before, trf_weights(nlp))  # frozen: bit-identical


def test_the_mix_gradient_matches_finite_differences(tiny_bert):
    """d loss / d mix_weights and d mix_scale from backprop equal central differences
    of the tagger's loss on the same batch (transformer frozen: its outputs are fixed)."""
    nlp, examples = build(mix_config(tiny_bert))
    node, tagger = listener(nlp), nlp.get_pipe("tagger")
    node.set_param("mix_weights", numpy.asarray([0.3, -0.2, 0.1], dtype="f"))

    def loss_and_grads():
        docs = [eg.predicted for eg in examples]
        nlp.get_pipe("transformer").feed_listeners(docs)
        scores, backprop = tagger.model.begin_update(docs)
        loss, d_scores = tagger.get_loss(examples, scores)
        node.set_grad("mix_weights", node.ops.alloc1f(3))
        node.set_grad("mix_scale", node.ops.alloc1f(1))
        backprop(d_scores)
        return float(loss), node.get_grad("mix_weights").copy(), node.get_grad("mix_scale").copy()

    _, d_w, d_s = loss_and_grads()
    eps = 1e-2
    for name, grad in (("mix_weights", d_w), ("mix_scale", d_s)):
        base = node.get_param(name).copy()
        for i in range(len(base)):
            plus, minus = base.copy(), base.copy()
            plus[i] += eps
            minus[i] -= eps
            node.set_param(name, plus)
            lp = loss_and_grads()[0]
            node.set_param(name, minus)
            lm = loss_and_grads()[0]
            node.set_param(name, base)
            assert grad[i] == pytest.approx((lp - lm) / (2 * eps), rel=0.05, abs=1e-3), (name, i)


def test_fine_tuning_sends_each_layer_its_share_of_the_gradient(tiny_bert):
    """With the mix all on the embeddings, fine-tuning moves the embeddings but not the
    last encoder layer (whose output the mix ignores); with an even mix it moves both."""
    from thinc.api import SGD

    def moved(weights):
        nlp, examples = build(mix_config(tiny_bert))
        listener(nlp).set_param("mix_weights", numpy.asarray(weights, dtype="f"))
        before = trf_weights(nlp)
        sgd = SGD(0.01, L2=0.0, grad_clip=0.0)
        for _ in range(3):  # the tagger's softmax starts at zero: no input gradient in update 1
            nlp.update(examples, sgd=sgd)
        after = trf_weights(nlp)
        delta = {k: float((after[k] - before[k]).abs().max()) for k in before}
        return (max(v for k, v in delta.items() if "embeddings" in k),
                max(v for k, v in delta.items() if "encoder.layer.1." in k))

    emb, last = moved([40.0, -40.0, -40.0])
    assert emb > 1e-6 and last < 1e-9, (emb, last)
    emb, last = moved([0.0, 0.0, 0.0])
    assert emb > 1e-6 and last > 1e-6, (emb, last)


def test_a_mixing_and_a_last_layer_listener_share_one_backward_pass(tiny_bert):
    nlp, examples = build(mix_config(tiny_bert, ner=True))
    before = trf_weights(nlp)
    losses = {}
    nlp.update(examples, sgd=Adam(0.001), losses=losses)
    assert not same(before, trf_weights(nlp)) and losses["transformer"] > 0
    assert set(nlp.get_pipe("transformer").grad_norms()) == {"tagger", "ner"}


def test_saved_mix_weights_load_back(tiny_bert, tmp_path):
    nlp, examples = build(mix_config(tiny_bert))
    sgd = Adam(0.05)
    for _ in range(5):
        nlp.update(examples, sgd=sgd, exclude=["transformer"])
    nlp.to_disk(tmp_path / "p")
    loaded = workbench.load(tmp_path / "p")
    numpy.testing.assert_array_equal(layer_weights(listener(loaded)), layer_weights(listener(nlp)))
    text = "alice visited paris ."
    assert [t.tag_ for t in loaded(text)] == [t.tag_ for t in nlp(text)]


def test_layer_mix_must_be_a_boolean(tiny_bert):
    with pytest.raises(ConfigError, match="layer_mix"):
        workbench.Pipeline.from_config(mix_config(tiny_bert).replace("layer_mix = true", 'layer_mix = "all"'))
