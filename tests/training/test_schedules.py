"""`workbench.warmup_decay_to_end.v1`: a learn rate that decays to the end of the run, whatever ends it."""
import json
import types

import numpy
import pytest
from thinc.api import fix_random_seed

import workbench
import workbench.training.loop as loop
from tests.helpers import tiny_examples
from workbench.commands import build_init_config
from workbench.config import fill_config
from workbench.errors import ConfigError
from workbench.pipeline.language import Pipeline
from workbench.training.loop import TrainingState, run_progress, train, train_while_improving
from workbench.training.schedules import WarmupDecayToEnd, warmup_decay_to_end

SCHEDULE = {"@schedules": "workbench.warmup_decay_to_end.v1", "peak": 0.01, "warmup_steps": 0, "final": 0.0}


def scheduled_tagger(schedule=SCHEDULE):
    config = build_init_config(["tagger"], shared=True)
    config["training"]["optimizer"]["use_averages"] = False
    config["training"]["optimizer"]["learn_rate"] = dict(schedule)
    fix_random_seed(0)
    nlp = Pipeline.from_config(config)
    examples = tiny_examples(nlp)
    optimizer = nlp.initialize(lambda: iter(examples))
    return nlp, optimizer, examples


def loop_settings(**ends):
    T = {"frozen_components": [], "annotating_components": [], "accumulate_gradient": 1, "dropout": 0.0,
         "eval_frequency": 10 ** 6, "max_steps": 0, "max_epochs": 0, "max_seconds": 0, "max_cpu_seconds": 0,
         "patience": 0}
    T.update(ends)
    return T


def rates_per_step(optimizer, steps, on_step=None):
    """The learn rate the optimizer holds after each step: the one the next step will use."""
    rates = []
    for event in steps:
        if event.kind == "step":
            rates.append(round(optimizer.learn_rate, 6))
            if on_step:
                on_step()
    return rates


def weights(nlp):
    return [numpy.array(value) for _, _, value in nlp.iter_params()]


def test_values_warm_up_then_decay_linearly_with_progress():
    s = WarmupDecayToEnd(peak=0.01, warmup_steps=4, final=0.1)
    assert [round(s.value(step, 0.0), 6) for step in range(5)] == [0.0025, 0.005, 0.0075, 0.01, 0.01]
    assert round(s.value(10, 0.5), 6) == 0.0055  # halfway from 0.01 to 0.001
    assert round(s.value(10, 1.0), 6) == 0.001  # the end: peak * final
    assert round(s.value(10, 1.7), 6) == 0.001  # progress past the end is the end
    it = warmup_decay_to_end(0.01, 4, 0.1)
    assert round(next(it), 6) == 0.0025 and round(next(it), 6) == 0.005  # thinc's optimizer calls next()
    it.progress = 1.0
    assert round(next(it), 6) == 0.00075  # warm-up (3/4) times the end value


def test_decays_to_zero_at_max_steps_and_the_weights_move():
    nlp, optimizer, examples = scheduled_tagger()
    assert optimizer.learn_rate == 0.01  # no warm-up: the first step uses the peak
    before = weights(nlp)
    steps = train_while_improving(nlp, optimizer, lambda epoch: [examples], dict, {}, loop_settings(max_steps=4),
                                  TrainingState())
    assert rates_per_step(optimizer, steps) == [0.0075, 0.005, 0.0025, 0.0]
    assert any(not numpy.allclose(a, b) for a, b in zip(weights(nlp), before))


def test_max_epochs_counts_the_done_share_of_the_current_epoch():
    nlp, optimizer, examples = scheduled_tagger()
    halves = [examples[:3], examples[3:]]  # two steps an epoch, 3 of 6 examples each
    state = TrainingState(examples_per_epoch=len(examples))
    steps = train_while_improving(nlp, optimizer, lambda epoch: halves, dict, {}, loop_settings(max_epochs=2), state)
    assert rates_per_step(optimizer, steps) == [0.0075, 0.005, 0.0025, 0.0]  # progress 1/4, 2/4, 3/4, 1
    assert state.stopped_by == "max_epochs"


def test_an_unknown_epoch_size_is_learnt_from_the_first_epoch():
    nlp, optimizer, examples = scheduled_tagger()
    halves = [examples[:3], examples[3:]]
    state = TrainingState()  # train() passes the corpus size; here the loop counts epoch 1
    steps = train_while_improving(nlp, optimizer, lambda epoch: halves, dict, {}, loop_settings(max_epochs=2), state)
    assert rates_per_step(optimizer, steps) == [0.01, 0.01, 0.0025, 0.0]
    assert state.examples_per_epoch == 6


def test_max_seconds_decays_with_the_clock(monkeypatch):
    clock = types.SimpleNamespace(now=1000.0)
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    nlp, optimizer, examples = scheduled_tagger()

    def tick():  # 25 s pass between steps
        clock.now += 25.0

    state = TrainingState()
    steps = train_while_improving(nlp, optimizer, lambda epoch: [examples], dict, {}, loop_settings(max_seconds=100), state)
    assert rates_per_step(optimizer, steps, tick) == [0.01, 0.0075, 0.005, 0.0025]
    assert state.stopped_by == "max_seconds" and state.step == 4


def test_max_cpu_seconds_decays_with_the_cpu_clock_not_the_wall_clock(monkeypatch):
    # a busy machine: 40 wall seconds pass per step, of which this process gets 25 CPU seconds
    clock = types.SimpleNamespace(now=0.0, cpu=7.0)  # 7 CPU s were used before the loop began
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=lambda: clock.now, process_time=lambda: clock.cpu))
    nlp, optimizer, examples = scheduled_tagger()

    def tick():
        clock.now += 40.0
        clock.cpu += 25.0

    state = TrainingState()
    steps = train_while_improving(nlp, optimizer, lambda epoch: [examples], dict, {}, loop_settings(max_cpu_seconds=100),
                                  state)
    assert rates_per_step(optimizer, steps, tick) == [0.01, 0.0075, 0.005, 0.0025]
    assert state.stopped_by == "max_cpu_seconds" and state.step == 4 and state.cpu_started == 7.0


def test_the_earliest_end_wins(monkeypatch):
    clock = types.SimpleNamespace(now=0.0)
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    state = TrainingState(step=2, epoch=1, epoch_examples=5, examples_per_epoch=10)
    state.started = 0.0
    clock.now = 30.0
    T = loop_settings(max_steps=10, max_epochs=4, max_seconds=60)
    assert run_progress(state, T) == 0.5  # steps 0.2, epochs 0.125, seconds 0.5
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=lambda: clock.now, process_time=lambda: 24.0))
    assert run_progress(state, dict(T, max_cpu_seconds=30)) == 0.8  # 24 of 30 CPU seconds
    assert run_progress(state, loop_settings(max_steps=10, max_epochs=1)) == 0.5  # half of the one epoch
    assert run_progress(state, loop_settings(max_steps=4)) == 0.5
    assert run_progress(state, loop_settings(max_steps=1)) == 1.0  # never past the end
    assert run_progress(state, loop_settings()) == 0.0


def test_a_run_without_an_end_is_refused(tmp_path):
    nlp, optimizer, examples = scheduled_tagger()
    steps = train_while_improving(nlp, optimizer, lambda epoch: [examples], dict, {}, loop_settings(patience=5),
                                  TrainingState())
    with pytest.raises(ConfigError, match=r"learn_rate follows the run's progress.*max_steps, max_epochs, max_seconds and max_cpu_seconds"):
        next(steps)
    corpus = tmp_path / "tiny.jsonl"
    corpus.write_text("".join(json.dumps(eg.reference.to_json()) + "\n" for eg in tiny_examples(workbench.blank("en"))))
    config = build_init_config(["tagger"], shared=True)
    config["paths"]["train"] = config["paths"]["dev"] = str(corpus)
    config["training"]["optimizer"]["learn_rate"] = dict(SCHEDULE)
    config["training"].update(max_steps=0, max_epochs=0, max_seconds=0, max_cpu_seconds=0)
    with pytest.raises(ConfigError, match="Set one of them"):
        train(config, None)
    assert not (tmp_path / "model-last").exists()


def test_its_settings_are_declared_with_ranges():
    config = build_init_config(["tagger"], shared=True)
    config["training"]["optimizer"]["learn_rate"] = {"@schedules": "workbench.warmup_decay_to_end.v1", "peak": 0.002}
    filled = fill_config(config)["training"]["optimizer"]["learn_rate"]
    assert filled == {"@schedules": "workbench.warmup_decay_to_end.v1", "peak": 0.002, "warmup_steps": 250, "final": 0.0}
    for key, value, problem in (("final", 1.5, "less than or equal to 1"), ("peak", 0, "greater than 0"),
                                ("warmup_steps", -1, "greater than or equal to 0")):
        config["training"]["optimizer"]["learn_rate"] = {**SCHEDULE, key: value}
        with pytest.raises(ConfigError, match=rf"\[training.optimizer.learn_rate\] {key} = {value}: it should be {problem}"):
            fill_config(config)
    config["training"]["optimizer"]["learn_rate"] = {**SCHEDULE, "warmup": 3}
    with pytest.raises(ConfigError, match="unknown setting 'warmup'. Did you mean 'warmup_steps'"):
        fill_config(config)
