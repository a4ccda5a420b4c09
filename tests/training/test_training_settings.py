"""[training] accumulate_gradient, annotating_components and gpu_allocator do what they say."""
import json
import time

import numpy
import pytest
from thinc.api import fix_random_seed

import workbench
from tests.helpers import TINY, tiny_examples
from workbench.commands import build_init_config
from workbench.config import fill_config, load_config
from workbench.errors import ConfigError
from workbench.ops import use_gpu_allocator
from workbench.pipeline.language import Pipeline
from workbench.registry import register_factory
from workbench.training.loop import TrainingState, train, train_while_improving


def initialized_tagger(seed=0):
    config = build_init_config(["tagger"], shared=True)
    config["training"]["optimizer"]["use_averages"] = False
    fix_random_seed(seed)
    nlp = Pipeline.from_config(config)
    examples = tiny_examples(nlp)
    optimizer = nlp.initialize(lambda: iter(examples))
    return nlp, optimizer, examples


def run_loop(nlp, optimizer, batches, accumulate):
    T = {"frozen_components": [], "annotating_components": [], "accumulate_gradient": accumulate,
         "dropout": 0.0, "eval_frequency": 10 ** 6, "max_steps": 0, "max_epochs": 1, "patience": 0}
    state = TrainingState()
    for _ in train_while_improving(nlp, optimizer, lambda epoch: batches, dict, {}, T, state):
        pass
    return state


def weights(nlp):
    return [numpy.array(value) for _, _, value in nlp.iter_params()]


def test_accumulating_n_batches_equals_one_batch_n_times_larger():
    nlp_a, opt_a, examples = initialized_tagger()
    nlp_b, opt_b, _ = initialized_tagger()
    nlp_c, opt_c, _ = initialized_tagger()
    for a, b in zip(weights(nlp_a), weights(nlp_b)):
        numpy.testing.assert_array_equal(a, b)
    halves = [examples[:3], examples[3:]]
    state_a = run_loop(nlp_a, opt_a, halves, accumulate=2)
    state_b = run_loop(nlp_b, opt_b, [examples], accumulate=1)
    state_c = run_loop(nlp_c, opt_c, halves, accumulate=1)  # two steps: must differ
    assert state_a.step == state_b.step == 1 and state_c.step == 2
    assert state_a.words == state_b.words == sum(len(eg.reference) for eg in examples)
    changed = False
    for a, b, c, before in zip(weights(nlp_a), weights(nlp_b), weights(nlp_c), weights(initialized_tagger()[0])):
        numpy.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        changed |= not numpy.allclose(a, before)
    assert changed
    assert any(not numpy.allclose(a, c, rtol=1e-4, atol=1e-6) for a, c in zip(weights(nlp_a), weights(nlp_c)))


class TagReader:
    """A test component that records, while learning, the tags on the docs it is given."""

    seen = []

    def __init__(self, nlp, name):
        self.name = name

    def update(self, examples, *, drop=0.0, losses=None):
        TagReader.seen.append([tag for eg in examples for tag in eg.predicted.tags])
        return losses

    def process(self, docs):
        return docs


register_factory("test_tag_reader", lambda nlp, name: TagReader(nlp, name))


@pytest.fixture()
def corpus(tmp_path):
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(eg.reference.to_json()) + "\n" for eg in tiny_examples(workbench.blank("en"))))
    return path


def reader_config(corpus, annotating):
    config = build_init_config(["tagger"], shared=True)
    config["components"]["reader"] = {"factory": "test_tag_reader"}
    config["nlp"]["pipeline"] = ["tok2vec", "tagger", "reader"]
    config["paths"]["train"] = config["paths"]["dev"] = str(corpus)
    config["training"].update(max_steps=3, eval_frequency=100, annotating_components=annotating)
    return config


def test_annotating_components_set_predictions_for_later_components(corpus):
    TagReader.seen = []
    train(reader_config(corpus, ["tagger"]), None)
    assert TagReader.seen and all(tags and all(t is not None for t in tags) for tags in TagReader.seen)
    labels = {pos for _, tags, _ in TINY for pos in tags}
    assert {t for tags in TagReader.seen for t in tags} <= labels
    TagReader.seen = []
    train(reader_config(corpus, []), None)
    assert TagReader.seen and all(all(t is None for t in tags) for tags in TagReader.seen)


def test_annotating_components_must_be_in_the_pipeline(corpus):
    with pytest.raises(ConfigError, match="annotating_components names 'taggr'"):
        train(reader_config(corpus, ["taggr"]), None)


def test_gpu_allocator_has_no_effect_on_cpu(monkeypatch):
    import thinc.api

    calls = []
    monkeypatch.setattr(thinc.api, "set_gpu_allocator", lambda name: calls.append(name))
    assert use_gpu_allocator("pytorch") is False and calls == []
    assert use_gpu_allocator(None) is False


def test_gpu_allocator_routes_cupy_through_torch_on_gpu(monkeypatch):
    """On a GPU, "pytorch" hands cupy's allocations to torch's pool (thinc's set_gpu_allocator)."""
    import thinc.api

    import workbench.ops

    calls = []
    monkeypatch.setattr(thinc.api, "set_gpu_allocator", lambda name: calls.append(name))
    monkeypatch.setattr(workbench.ops, "on_gpu", lambda: True)
    assert use_gpu_allocator("pytorch") is True and calls == ["pytorch"]


class FakeClock:
    """The loop's `time`: it stands still except while nlp.update runs, which takes `step_seconds`."""

    def __init__(self, nlp, step_seconds: float):
        self.now = 0.0
        update = nlp.update

        def slow_update(*args, **kwargs):
            self.now += step_seconds
            return update(*args, **kwargs)

        nlp.update = slow_update

    def perf_counter(self) -> float:
        return self.now


def test_max_seconds_stops_the_loop_on_its_wall_clock_budget(monkeypatch):
    import workbench.training.loop as loop

    nlp, optimizer, examples = initialized_tagger()
    batches = [examples[i:i + 1] for i in range(len(examples))]  # 6 steps an epoch
    T = {"frozen_components": [], "annotating_components": [], "accumulate_gradient": 1, "dropout": 0.0,
         "eval_frequency": 10 ** 6, "max_steps": 0, "max_epochs": 50, "patience": 0}
    monkeypatch.setattr(loop, "time", FakeClock(nlp, step_seconds=5.0))
    state = TrainingState()
    list(train_while_improving(nlp, optimizer, lambda epoch: batches, dict, {}, dict(T, max_seconds=22.0), state))
    assert state.stopped_by == "max_seconds" and state.step == 5  # 25 s >= 22 s, mid-epoch 1
    unlimited = TrainingState()
    list(train_while_improving(nlp, optimizer, lambda epoch: batches, dict, {}, dict(T, max_seconds=0), unlimited))
    assert unlimited.stopped_by == "max_epochs" and unlimited.step == 50 * 6


def test_max_seconds_from_the_config_ends_a_run_that_has_no_other_limit(corpus, tmp_path):
    config = build_init_config(["tagger"], shared=True)
    config["paths"]["train"] = config["paths"]["dev"] = str(corpus)
    config["training"].update(max_steps=0, max_epochs=0, patience=0, max_seconds=1.5, eval_frequency=50)
    result = train(config, tmp_path / "out")
    assert result.stopped_by == "max_seconds" and result.steps > 0
    assert (tmp_path / "out" / "model-last").exists()


def test_max_seconds_is_declared_non_negative(corpus):
    config = build_init_config(["tagger"], shared=True)
    config["paths"]["train"] = config["paths"]["dev"] = str(corpus)
    config["training"]["max_seconds"] = -5
    with pytest.raises(ConfigError, match="max_seconds"):
        train(config, None)


def test_max_cpu_seconds_from_the_config_ends_a_run_and_is_saved(corpus, tmp_path):
    config = build_init_config(["tagger"], shared=True)
    config["paths"]["train"] = config["paths"]["dev"] = str(corpus)
    assert fill_config(config)["training"]["max_cpu_seconds"] == 0  # the default: no CPU budget
    config["training"].update(max_steps=0, max_epochs=0, patience=0, max_cpu_seconds=1.5, eval_frequency=50)
    cpu0 = time.process_time()
    result = train(config, tmp_path / "out")
    assert result.stopped_by == "max_cpu_seconds" and result.steps > 0
    assert time.process_time() - cpu0 >= 1.5
    saved = load_config(tmp_path / "out" / "model-last" / "config.cfg")
    assert saved["training"]["max_cpu_seconds"] == 1.5


def test_max_cpu_seconds_is_declared_non_negative(corpus):
    config = build_init_config(["tagger"], shared=True)
    config["paths"]["train"] = config["paths"]["dev"] = str(corpus)
    config["training"]["max_cpu_seconds"] = -1
    with pytest.raises(ConfigError, match=r"\[training\] max_cpu_seconds = -1: it should be greater than or equal to 0"):
        train(config, None)


def test_a_learn_rate_schedule_moves_on_with_every_optimizer_step():
    # learn_rate = warmup_linear starts at 0: if the loop never stepped the schedule, nothing would learn
    config = build_init_config(["tagger"], shared=True)
    config["training"]["optimizer"]["use_averages"] = False
    config["training"]["optimizer"]["learn_rate"] = {
        "@schedules": "warmup_linear.v1", "initial_rate": 0.01, "warmup_steps": 2, "total_steps": 10}
    fix_random_seed(0)
    nlp = Pipeline.from_config(config)
    examples = tiny_examples(nlp)
    optimizer = nlp.initialize(lambda: iter(examples))
    assert optimizer.learn_rate == 0.0
    before = weights(nlp)
    rates = []
    T = {"frozen_components": [], "annotating_components": [], "accumulate_gradient": 1,
         "dropout": 0.0, "eval_frequency": 10 ** 6, "max_steps": 4, "max_epochs": 0, "patience": 0}
    for event in train_while_improving(nlp, optimizer, lambda epoch: [examples], dict, {}, T, TrainingState()):
        if event.kind == "step":
            rates.append(round(optimizer.learn_rate, 6))
    assert rates == [0.005, 0.01, 0.00875, 0.0075]  # warm-up to 0.01 over 2 steps, then linear decay
    assert any(not numpy.allclose(a, b) for a, b in zip(weights(nlp), before))
