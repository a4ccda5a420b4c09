"""[training.optimizer] use_averages: evaluation, model-best and model-last use the
optimizer's moving averages of the weights, and the returned pipeline holds them."""
import json
import unittest.mock

import numpy
import pytest

import workbench
import workbench.training.initialize as initialize_module
from tests.helpers import tiny_examples
from workbench.commands import build_init_config
from workbench.pipeline.language import Pipeline
from workbench.training.loop import train


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("averages") / "tiny.jsonl"
    nlp = workbench.blank("en")
    path.write_text("".join(json.dumps(eg.reference.to_json()) + "\n" for eg in tiny_examples(nlp) * 3))
    return path


def tagger_config(corpus, use_averages: bool):
    config = build_init_config(["tagger"], shared=True)
    config["paths"]["train"] = config["paths"]["dev"] = str(corpus)
    config["training"].update(max_steps=12, eval_frequency=5, patience=0)
    config["training"]["optimizer"]["use_averages"] = use_averages
    return config


def output_W(nlp):
    return numpy.array(nlp.get_pipe("tagger").model.get_ref("output_layer").get_param("W"))


def test_use_averages_evaluates_and_saves_the_averaged_weights(corpus, tmp_path, monkeypatch):
    seen = {}
    real_init = initialize_module.initialize_pipeline

    def spy_init(*args, **kwargs):
        seen["optimizer"] = real_init(*args, **kwargs)
        return seen["optimizer"]

    real_evaluate = Pipeline.evaluate
    during = []  # (weights scored, their average, the raw weights) at each evaluation

    def spy_evaluate(self, examples, **kwargs):
        layer = self.get_pipe("tagger").model.get_ref("output_layer")
        averages = seen["optimizer"].averages
        during.append((output_W(self), numpy.array(averages[(layer.id, "W")])))
        return real_evaluate(self, examples, **kwargs)

    monkeypatch.setattr(initialize_module, "initialize_pipeline", spy_init)
    monkeypatch.setattr(Pipeline, "evaluate", spy_evaluate)
    result = train(tagger_config(corpus, True), tmp_path, progress=False)
    assert len(during) == 3  # steps 5, 10 and the end (12)
    for scored, average in during:
        numpy.testing.assert_array_equal(scored, average)
    layer_id = result.nlp.get_pipe("tagger").model.get_ref("output_layer").id
    final_average = numpy.array(seen["optimizer"].averages[(layer_id, "W")])
    numpy.testing.assert_array_equal(output_W(result.nlp), final_average)
    numpy.testing.assert_array_equal(output_W(workbench.load(tmp_path / "model-last")), final_average)
    assert numpy.abs(final_average).sum() > 0


def test_averaged_weights_differ_from_the_raw_ones_and_are_restored(corpus, tmp_path):
    """use_params swaps the averages in and puts the raw weights back afterwards."""
    result = train(tagger_config(corpus, False), tmp_path, progress=False)
    nlp = result.nlp
    layer = nlp.get_pipe("tagger").model.get_ref("output_layer")
    raw = output_W(nlp)
    fake = {(layer.id, "W"): raw * 0.5}
    with nlp.use_params(fake):
        numpy.testing.assert_array_equal(output_W(nlp), raw * 0.5)
    numpy.testing.assert_array_equal(output_W(nlp), raw)
    with nlp.use_params(None):
        numpy.testing.assert_array_equal(output_W(nlp), raw)
    assert nlp.set_params(fake) == 1
    numpy.testing.assert_array_equal(output_W(nlp), raw * 0.5)
    fake[(layer.id, "W")][:] = 0  # set_params copied: later changes to the dict do not leak in
    numpy.testing.assert_array_equal(output_W(nlp), raw * 0.5)


def test_averages_start_from_the_initial_weights(corpus, tmp_path):
    """With learn_rate 0 the weights never move, so their average is exactly the weights
    (thinc alone starts averages at zero: after 12 updates they would be ~1% short)."""
    raw_after_first_step = {}

    def on_step(event):
        if event.kind == "step" and event.step == 1:
            table = result_holder["nlp"].get_pipe("tok2vec").model.get_ref("embed").layers[0]
            for node in table.walk():
                if node.has_param("E"):
                    raw_after_first_step[node.id] = numpy.array(node.get_param("E"))

    result_holder = {}
    real_from_config = Pipeline.from_config

    def remember(*args, **kwargs):
        result_holder["nlp"] = real_from_config(*args, **kwargs)
        return result_holder["nlp"]

    config = tagger_config(corpus, True)
    real_init = initialize_module.initialize_pipeline

    def frozen_optimizer(*args, **kwargs):  # [training.optimizer] refuses learn_rate = 0
        optimizer = real_init(*args, **kwargs)
        optimizer.learn_rate = 0.0
        return optimizer

    with unittest.mock.patch.object(Pipeline, "from_config", side_effect=remember), \
            unittest.mock.patch.object(initialize_module, "initialize_pipeline", side_effect=frozen_optimizer):
        result = train(config, tmp_path, subscribers=[on_step], progress=False)
    assert raw_after_first_step
    nodes = {node.id: node for node in result.nlp.get_pipe("tok2vec").model.walk()}
    for node_id, raw in raw_after_first_step.items():
        numpy.testing.assert_array_equal(nodes[node_id].get_param("E"), raw)
