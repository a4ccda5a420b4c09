"""The training loop: batches, updates, evaluation, model-best / model-last, events."""
import random
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from confection import Config
from thinc.api import fix_random_seed

from ..config import interpolate, require_complete, resolve_block
from ..errors import ConfigError
from ..ops import use_blas_cpu_ops
from ..pipeline.language import Pipeline
from ..scorer import weighted_score
from .events import EventBus, Subscriber, TrainingEvent


class TrainingResult:
    def __init__(self, nlp: Pipeline, best_score: float, best_scores: Dict[str, Any], steps: int, stopped_by: str):
        self.nlp = nlp
        self.best_score = best_score
        self.best_scores = best_scores
        self.steps = steps
        self.stopped_by = stopped_by


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
    at the end, also when stopped (stop event, Ctrl-C, patience, max_steps).
    subscribers: callables that receive every TrainingEvent. With `progress` set
    (True/False), the [training.logger] from the config prints the run as well.
    """
    use_blas_cpu_ops()  # also when training runs in a background thread
    require_complete(config, source)
    resolved = interpolate(config)
    T = resolved["training"]
    fix_random_seed(T["seed"])
    bus = EventBus(subscribers)
    if progress is not None and T.get("logger"):
        logger = resolve_block(T["logger"], "training.logger")
        if hasattr(logger, "eval_frequency"):
            logger.eval_frequency = T["eval_frequency"]
        if hasattr(logger, "progress") and not progress:
            logger.progress = False
        bus.subscribe(logger)
    output_path = Path(output_path) if output_path else None

    nlp = Pipeline.from_config(config)
    train_corpus, dev_corpus = _corpora(resolved, T)
    train_examples = list(train_corpus(nlp))
    dev_examples = list(dev_corpus(nlp))
    if not train_examples:
        raise ConfigError(f"The training corpus ({_corpus_path(resolved, T['train_corpus'])}) has no examples.")
    from .initialize import initialize_pipeline

    optimizer = initialize_pipeline(nlp, resolved, lambda: iter(train_examples))
    batcher = resolve_block(T["batcher"], "training.batcher")
    frozen = set(T["frozen_components"])
    _check_frozen(nlp, frozen)
    if optimizer.averages is not None:
        _seed_averages(nlp, optimizer, frozen)
    weights = {k: v for k, v in T["score_weights"].items() if v}
    rng = random.Random(T["seed"])

    step, epoch, words = 0, 0, 0
    best_score, best_scores = -1.0, {}
    best_step = 0
    interval_losses: Dict[str, float] = {}  # summed since the last evaluation
    update_seconds = 0.0  # time spent in nlp.update: words/s excludes evaluation and saving
    stopped_by = "end"
    bus.emit(TrainingEvent("start", message=f"{len(train_examples)} training and {len(dev_examples)} dev examples"))
    try:
        while True:
            epoch += 1
            order = list(train_examples)
            rng.shuffle(order)
            for batch in batcher(order):
                losses: Dict[str, float] = {}
                t0 = time.perf_counter()
                nlp.update(batch, drop=T["dropout"], sgd=optimizer, losses=losses, exclude=frozen)
                update_seconds += time.perf_counter() - t0
                step += 1
                words += sum(len(eg.reference) for eg in batch)
                for key, value in losses.items():
                    interval_losses[key] = interval_losses.get(key, 0.0) + value
                bus.emit(TrainingEvent(
                    "step", step=step, epoch=epoch, losses=losses, words=words,
                    words_per_second=words / update_seconds if update_seconds else 0.0,
                    grad_norms=_grad_norms(nlp), grad_factors=_grad_factors(nlp, step),
                ))
                if step % T["eval_frequency"] == 0:
                    with nlp.use_params(optimizer.averages):  # use_averages: score what is saved
                        best_score, best_scores, best_step = _evaluate(
                            nlp, dev_examples, weights, step, epoch, interval_losses, words, update_seconds,
                            best_score, best_scores, best_step, output_path, bus,
                        )
                    interval_losses = {}
                if stop is not None and stop.is_set():
                    stopped_by = "stop requested"
                    raise _Stop
                if T["max_steps"] and step >= T["max_steps"]:
                    stopped_by = "max_steps"
                    raise _Stop
                if T["patience"] and step - best_step >= T["patience"] and best_step:
                    stopped_by = "patience"
                    raise _Stop
            if T["max_epochs"] and epoch >= T["max_epochs"]:
                stopped_by = "max_epochs"
                break
    except _Stop:
        pass
    except KeyboardInterrupt:
        stopped_by = "interrupted"
        with nlp.use_params(optimizer.averages):
            _save(nlp, output_path, "model-last")
        bus.emit(TrainingEvent("stop", step=step, epoch=epoch, message="interrupted: model-last saved",
                               output_path=str(output_path / "model-last") if output_path else None))
        raise
    if optimizer.averages:
        # use_averages: from here on the pipeline holds the averaged weights; the last
        # evaluation and model-last use them, as every evaluation during training did.
        nlp.set_params(optimizer.averages)
    if step % T["eval_frequency"] != 0 or best_step == 0:
        best_score, best_scores, best_step = _evaluate(
            nlp, dev_examples, weights, step, epoch, interval_losses, words, update_seconds,
            best_score, best_scores, best_step, output_path, bus,
        )
    _save(nlp, output_path, "model-last")
    bus.emit(TrainingEvent("end", step=step, epoch=epoch, words=words, scores=best_scores,
                           best_score=best_score, message=stopped_by,
                           output_path=str(output_path) if output_path else None))
    return TrainingResult(nlp, best_score, best_scores, step, stopped_by)


class _Stop(Exception):
    pass


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


def _check_frozen(nlp: Pipeline, frozen: set) -> None:
    for name in frozen:
        if name not in nlp.pipe_names:
            raise ConfigError(
                f"[training] frozen_components names '{name}', which is not in the pipeline "
                f"({', '.join(nlp.pipe_names)})."
            )


def _seed_averages(nlp: Pipeline, optimizer: Any, frozen: set) -> None:
    """Start the moving averages from the initial weights of the components that learn
    (thinc starts them at zero, which pulls the averaged weights towards zero for the
    first ~20 updates)."""
    from thinc.api import torch2xp

    for holder, name, value in nlp.iter_params(exclude=frozen):
        key = (holder.id, name)
        if key not in optimizer.averages:
            array = torch2xp(value) if hasattr(value, "detach") else value
            optimizer.averages[key] = array.copy()


def _grad_norms(nlp: Pipeline) -> Dict[str, Dict[str, float]]:
    return {name: comp.grad_norms() for name, comp in nlp.components if hasattr(comp, "grad_norms")}


def _grad_factors(nlp: Pipeline, step: int) -> Dict[str, float]:
    factors = {}
    for name, comp in nlp.components:
        if hasattr(comp, "grad_factors"):
            factors.update(comp.grad_factors())
    return factors


def _evaluate(nlp, dev_examples, weights, step, epoch, losses, words, update_seconds,
              best_score, best_scores, best_step, output_path, bus) -> Tuple[float, Dict[str, Any], int]:
    scores = nlp.evaluate(dev_examples) if dev_examples else {}
    score = weighted_score(scores, weights)
    is_best = score > best_score
    if is_best:
        best_score, best_scores, best_step = score, scores, step
        _save(nlp, output_path, "model-best")
    bus.emit(TrainingEvent(
        "evaluate", step=step, epoch=epoch, losses=losses, words=words,
        words_per_second=words / update_seconds if update_seconds else 0.0, scores=scores, score=score,
        best_score=best_score, is_best=is_best,
    ))
    return best_score, best_scores, best_step


def _save(nlp: Pipeline, output_path: Optional[Path], name: str) -> None:
    if output_path is not None:
        nlp.to_disk(output_path / name)
