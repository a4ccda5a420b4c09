"""The training loop: set-up, then `train_while_improving` over a `TrainingState`.

`train(config)` builds the pipeline and the corpora, initializes, and drives the
generator: each step it emits a "step" event, each evaluation an "evaluate" event
(saving `model-best` while the averaged weights are in place), and at the end it
saves `model-last`. Subscribers (the console logger, the widgets) see only events.
"""
import contextlib
import gc
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional

from confection import Config
from thinc.api import Optimizer, fix_random_seed, torch2xp

from ..allocator import release_freed_memory
from ..config import interpolate, require_complete, resolve_block
from ..errors import ConfigError
from ..ops import use_blas_cpu_ops, use_gpu_allocator
from ..pipeline.language import Pipeline
from ..preflight import check_pipeline
from ..scorer import weighted_score
from .events import EventBus, Subscriber, TrainingEvent
from .example import Example
from .output import check_output
from .schedules import check_run_has_an_end, progress_schedules


@dataclass
class TrainingState:
    """What the loop knows between steps."""

    step: int = 0
    epoch: int = 0
    words: int = 0
    update_seconds: float = 0.0  # time in nlp.update: words/s leaves out evaluation and saving
    interval_losses: Dict[str, float] = field(default_factory=dict)  # summed since the last evaluation
    best_score: float = -1.0
    best_scores: Dict[str, Any] = field(default_factory=dict)
    best_step: int = 0
    stopped_by: str = "end"
    started: float = field(default_factory=time.perf_counter)  # when the loop began: max_seconds counts from here
    cpu_started: float = 0.0  # this process's CPU seconds when the loop began (set when max_cpu_seconds is)
    epoch_examples: int = 0  # examples done in the current epoch
    examples_per_epoch: int = 0  # 0: not known until the first epoch ends

    @property
    def words_per_second(self) -> float:
        return self.words / self.update_seconds if self.update_seconds else 0.0


class TrainingResult:
    def __init__(self, nlp: Pipeline, state: TrainingState):
        self.nlp = nlp
        self.best_score = state.best_score
        self.best_scores = state.best_scores
        self.steps = state.step
        self.stopped_by = state.stopped_by


def train(
    config: Config,
    output_path: Optional[Path] = None,
    *,
    subscribers: Optional[List[Subscriber]] = None,
    stop: Optional[threading.Event] = None,
    source: str = "the config",
    progress: Optional[bool] = None,
) -> TrainingResult:
    """Train the pipeline a complete config describes.

    Writes OUTPUT/model-best whenever the dev score improves and OUTPUT/model-last
    at the end, also when stopped (stop event, Ctrl-C, patience, max_steps, max_seconds, max_cpu_seconds).
    subscribers: callables that receive every TrainingEvent. With `progress` set
    (True/False), the [training.logger] from the config prints the run as well.
    """
    use_blas_cpu_ops()  # also when training runs in a background thread
    require_complete(config, source)
    resolved = interpolate(config)
    T = resolved["training"]
    fix_random_seed(T["seed"])
    use_gpu_allocator(T["gpu_allocator"])
    bus = EventBus(subscribers)
    _subscribe_logger(bus, T, progress)
    output_path = Path(output_path) if output_path else None
    check_output(output_path, overwrite=True)  # a file is refused now, not at the first save

    nlp = Pipeline.from_config(config)
    check_pipeline(nlp)  # what would fail later (listeners, model folders, pooling), before any data is read
    train_corpus, dev_corpus = _corpora(resolved, T)
    train_examples = list(train_corpus(nlp))
    dev_examples = list(dev_corpus(nlp))
    if not train_examples:
        raise ConfigError(f"The training corpus ({_corpus_path(resolved, T['train_corpus'])}) has no examples.")
    from .initialize import initialize_pipeline

    optimizer = initialize_pipeline(nlp, resolved, lambda: iter(train_examples))
    frozen = set(T["frozen_components"])
    _check_names(nlp, T, "frozen_components")
    _check_names(nlp, T, "annotating_components")
    if optimizer.averages is not None:
        _seed_averages(nlp, optimizer, frozen)
    batches = _epochs(train_examples, resolve_block(T["batcher"], "training.batcher"), T["seed"])
    weights = {k: v for k, v in T["score_weights"].items() if v}

    def evaluate() -> Dict[str, Any]:
        return nlp.evaluate(dev_examples) if dev_examples else {}

    state = TrainingState(examples_per_epoch=len(train_examples))
    bus.emit(TrainingEvent("start", message=f"{len(train_examples)} training and {len(dev_examples)} dev examples"))
    steps = train_while_improving(nlp, optimizer, batches, evaluate, weights, T, state, stop)
    try:
        for event in steps:
            if event.is_best:
                _save(nlp, output_path, "model-best")  # the averaged weights are in place here
            bus.emit(event)
    except KeyboardInterrupt:
        steps.close()  # leaves an open evaluation, putting the raw weights back
        state.stopped_by = "interrupted"
        with nlp.use_params(optimizer.averages):
            _save(nlp, output_path, "model-last")
        bus.emit(TrainingEvent("stop", step=state.step, epoch=state.epoch, message="interrupted: model-last saved",
                               output_path=str(output_path / "model-last") if output_path else None))
        raise
    finally:
        steps.close()
        release_freed_memory()  # the heap the torch allocator policy kept for training goes back to the system
    if optimizer.averages:
        # use_averages: from here on the pipeline holds the averaged weights; the last
        # evaluation and model-last use them, as every evaluation during training did.
        nlp.set_params(optimizer.averages)
    if state.step % T["eval_frequency"] != 0 or state.best_step == 0:
        event = _evaluation_event(state, evaluate(), weights)
        if event.is_best:
            _save(nlp, output_path, "model-best")
        bus.emit(event)
    _save(nlp, output_path, "model-last")
    bus.emit(TrainingEvent("end", step=state.step, epoch=state.epoch, words=state.words, scores=state.best_scores,
                           best_score=state.best_score, message=state.stopped_by,
                           output_path=str(output_path) if output_path else None))
    return TrainingResult(nlp, state)


@contextlib.contextmanager
def long_lived_frozen():
    """Keep the objects alive now (the corpus, the pipeline) out of the cyclic garbage
    collector's full collections while training runs.

    Each full collection walks every tracked object; with a corpus in memory one took
    6.5% of a CNN training run's CPU time (0.1% frozen). Unfrozen at the end, so that a
    notebook that trains again can still free the old pipeline.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def train_while_improving(
    nlp: Pipeline,
    optimizer: Optimizer,
    batches: Callable[[int], Iterable[List[Example]]],
    evaluate: Callable[[], Dict[str, Any]],
    weights: Dict[str, float],
    T: Dict[str, Any],
    state: TrainingState,
    stop: Optional[threading.Event] = None,
) -> Iterator[TrainingEvent]:
    """Update on each batch of each epoch, evaluating every `eval_frequency` steps,
    until a stop condition of [training] holds; `state.stopped_by` says which.

    Yields a "step" event after every update and an "evaluate" event after every
    evaluation; while the consumer handles an "evaluate" event the averaged weights
    (use_averages) are still swapped in, so that is where `model-best` is saved.
    """
    frozen = set(T["frozen_components"])
    annotates = list(T["annotating_components"])
    followers = progress_schedules(optimizer)
    check_run_has_an_end(followers, [key for key in ENDS if T.get(key)])
    state.started = time.perf_counter()
    if T.get("max_cpu_seconds"):
        state.cpu_started = time.process_time()
    with long_lived_frozen():  # the corpus and the pipeline
        while True:
            state.epoch += 1
            state.epoch_examples = 0
            for group in _groups(batches(state.epoch), T["accumulate_gradient"]):
                losses: Dict[str, float] = {}
                t0 = time.perf_counter()
                # accumulate_gradient = N: the gradients of N batches add up, then one optimizer step
                for i, batch in enumerate(group):
                    last = i == len(group) - 1
                    nlp.update(batch, drop=T["dropout"], sgd=optimizer if last else None, losses=losses,
                               exclude=frozen, annotates=annotates)
                state.step += 1
                state.epoch_examples += sum(len(batch) for batch in group)
                if followers:  # schedules that decay to the end of the run: where it is now
                    progress = run_progress(state, T)
                    for schedule in followers.values():
                        schedule.progress = progress
                optimizer.step_schedules()  # learn_rate = a schedule: its next value for the next step
                state.update_seconds += time.perf_counter() - t0
                state.words += sum(len(eg.reference) for batch in group for eg in batch)
                for key, value in losses.items():
                    state.interval_losses[key] = state.interval_losses.get(key, 0.0) + value
                yield TrainingEvent(
                    "step", step=state.step, epoch=state.epoch, losses=losses, words=state.words,
                    words_per_second=state.words_per_second,
                    grad_norms=_grad_norms(nlp), grad_factors=_grad_factors(nlp),
                )
                if state.step % T["eval_frequency"] == 0:
                    with nlp.use_params(optimizer.averages):  # use_averages: score what is saved
                        yield _evaluation_event(state, evaluate(), weights)
                state.stopped_by = _stop_reason(state, T, stop)
                if state.stopped_by != "end":
                    return
            state.examples_per_epoch = state.examples_per_epoch or state.epoch_examples
            if T["max_epochs"] and state.epoch >= T["max_epochs"]:
                state.stopped_by = "max_epochs"
                return


ENDS = ("max_steps", "max_epochs", "max_seconds", "max_cpu_seconds")  # the [training] settings that end a run


def run_progress(state: TrainingState, T: Dict[str, Any]) -> float:
    """How far the run is, 0..1, by the earliest of its ends: steps done / max_steps,
    (epochs done + the done share of this epoch's examples) / max_epochs, seconds since
    the loop began / max_seconds, CPU seconds since then / max_cpu_seconds. 0 when the
    run has none of these ends."""
    fractions = []
    if T.get("max_steps"):
        fractions.append(state.step / T["max_steps"])
    if T.get("max_epochs"):
        in_epoch = min(1.0, state.epoch_examples / state.examples_per_epoch) if state.examples_per_epoch else 0.0
        fractions.append((state.epoch - 1 + in_epoch) / T["max_epochs"])
    if T.get("max_seconds"):
        fractions.append((time.perf_counter() - state.started) / T["max_seconds"])
    if T.get("max_cpu_seconds"):
        fractions.append(_cpu_seconds(state) / T["max_cpu_seconds"])
    return min(1.0, max(fractions, default=0.0))


def _groups(batches: Iterable[List[Example]], n: int) -> Iterator[List[List[Example]]]:
    """Consecutive groups of `n` batches (the last group may be shorter)."""
    group: List[List[Example]] = []
    for batch in batches:
        group.append(batch)
        if len(group) == n:
            yield group
            group = []
    if group:
        yield group


def _stop_reason(state: TrainingState, T: Dict[str, Any], stop: Optional[threading.Event]) -> str:
    if stop is not None and stop.is_set():
        return "stop requested"
    if T["max_steps"] and state.step >= T["max_steps"]:
        return "max_steps"
    if T["patience"] and state.best_step and state.step - state.best_step >= T["patience"]:
        return "patience"
    if T.get("max_seconds") and time.perf_counter() - state.started >= T["max_seconds"]:
        return "max_seconds"
    if T.get("max_cpu_seconds") and _cpu_seconds(state) >= T["max_cpu_seconds"]:
        return "max_cpu_seconds"
    return "end"


def _cpu_seconds(state: TrainingState) -> float:
    """CPU seconds this process (all its threads) has used since the loop began."""
    return time.process_time() - state.cpu_started


def _evaluation_event(state: TrainingState, scores: Dict[str, Any], weights: Dict[str, float]) -> TrainingEvent:
    """Record an evaluation in `state` (best so far?) and describe it as an event."""
    score = weighted_score(scores, weights)
    is_best = score > state.best_score
    if is_best:
        state.best_score, state.best_scores, state.best_step = score, scores, state.step
    event = TrainingEvent(
        "evaluate", step=state.step, epoch=state.epoch, losses=state.interval_losses, words=state.words,
        words_per_second=state.words_per_second, scores=scores, score=score,
        best_score=state.best_score, is_best=is_best,
    )
    state.interval_losses = {}
    return event


def _epochs(examples: List[Example], batcher: Callable, seed: int) -> Callable[[int], Iterable[List[Example]]]:
    """epoch -> its batches: the examples shuffled with a seeded generator, then batched."""
    rng = random.Random(seed)

    def batches(epoch: int) -> Iterable[List[Example]]:
        order = list(examples)
        rng.shuffle(order)
        return batcher(order)

    return batches


def _subscribe_logger(bus: EventBus, T: Dict[str, Any], progress: Optional[bool]) -> None:
    if progress is None or not T.get("logger"):
        return
    logger = resolve_block(T["logger"], "training.logger")
    if hasattr(logger, "eval_frequency"):
        logger.eval_frequency = T["eval_frequency"]
    if hasattr(logger, "progress") and not progress:
        logger.progress = False
    bus.subscribe(logger)


def _corpora(resolved: Dict[str, Any], T: Dict[str, Any]):
    corpora = []
    for key, flag in ((T["train_corpus"], "paths.train"), (T["dev_corpus"], "paths.dev")):
        section, _, name = key.partition(".")
        block = resolved.get(section, {}).get(name)
        if block is None:
            raise ConfigError(f"[training] names the corpus '{key}', but the config has no [{key}] section.")
        if "path" in block and block["path"] is None:
            raise ConfigError(
                f"[{key}] path is not set. Pass it on the command line, e.g. --{flag} corpus.jsonl, "
                f"or write it into [paths]."
            )
        corpora.append(resolve_block(block, key))
    return corpora


def _corpus_path(resolved, key: str) -> str:
    section, _, name = key.partition(".")
    return str(resolved.get(section, {}).get(name, {}).get("path"))


def _check_names(nlp: Pipeline, T: Dict[str, Any], key: str) -> None:
    for name in T[key]:
        if name not in nlp.pipe_names:
            raise ConfigError(
                f"[training] {key} names '{name}', which is not in the pipeline "
                f"({', '.join(nlp.pipe_names)}). Remove it or fix the spelling."
            )


def _seed_averages(nlp: Pipeline, optimizer: Any, frozen: set) -> None:
    """Start the moving averages from the initial weights of the components that learn
    (thinc starts them at zero, which pulls the averaged weights towards zero for the
    first ~20 updates)."""
    for holder, name, value in nlp.iter_params(exclude=frozen):
        key = (holder.id, name)
        if key not in optimizer.averages:
            array = torch2xp(value) if hasattr(value, "detach") else value
            optimizer.averages[key] = array.copy()


def _grad_norms(nlp: Pipeline) -> Dict[str, Dict[str, float]]:
    return {name: comp.grad_norms() for name, comp in nlp.components if hasattr(comp, "grad_norms")}


def _grad_factors(nlp: Pipeline) -> Dict[str, float]:
    factors = {}
    for _, comp in nlp.components:
        if hasattr(comp, "grad_factors"):
            factors.update(comp.grad_factors())
    return factors


def _save(nlp: Pipeline, output_path: Optional[Path], name: str) -> None:
    if output_path is not None:
        nlp.to_disk(output_path / name)
