"""Pretraining: train a pipeline's embedding layer on raw text (`python -m workbench pretrain`).

Each batch of docs is masked (see `mask_docs`) and run through the target embedding
and the objective's head, which predicts the original words of every token (`[pretraining] predict = "all"`, the
default) or of the masked tokens only ("masked", BERT-style). After each epoch
the target's weights are written to OUTDIR/model{epoch}.bin (`model.to_bytes()`,
msgpack, never pickle) and a line to OUTDIR/log.jsonl; `[initialize] init_tok2vec`
loads such a file before training. The objective's output layer goes to
model{epoch}.head.bin, so that `--resume-path model{epoch}.bin` continues where it was.
"""
import json
import os
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy
from confection import Config
from thinc.api import fix_random_seed, set_dropout_rate
from tqdm import tqdm

from ..config import BASE_CONFIG, fill_config, interpolate, resolve_block
from ..errors import ConfigError, DataError
from ..models.combinators import to_doc_arrays
from ..models.listener import is_listener_block
from ..models.pretrain import PretrainModel, PretrainObjective
from ..ops import use_blas_cpu_ops
from ..text.doc import Doc
from ..training.events import EventBus, Subscriber, TrainingEvent
from .init_tok2vec import find_target, load_weights

MASK = "[MASK]"
RESUME_FIX = ("Resume with the config of the run that wrote the file (same embedding settings), "
              "or start afresh without --resume-path.")
SHUFFLE_WINDOW = 2000  # docs shuffled together while streaming the corpus

PRETRAIN_DEFAULTS = """
[corpora.pretrain]
@readers = "workbench.JsonlCorpus.v1"
path = ${paths.raw_text}
min_length = 5
max_length = 500
limit = 0

[pretraining]
max_epochs = 1000
dropout = 0.2
n_save_every = null
n_save_epoch = null
component = "tok2vec"
layer = ""
corpus = "corpora.pretrain"
mask_prob = 0.15
predict = "all"
seed = ${system.seed}

[pretraining.batcher]
@batchers = "workbench.batch_by_words.v1"
size = 3000
discard_oversize = false
tolerance = 0.2

[pretraining.objective]
@architectures = "workbench.PretrainCharacters.v1"
maxout_pieces = 3
hidden_size = 300
n_characters = 4

[pretraining.optimizer]
@optimizers = "Adam.v1"
beta1 = 0.9
beta2 = 0.999
L2_is_weight_decay = true
L2 = 0.01
grad_clip = 1.0
use_averages = false
eps = 0.00000001
learn_rate = 0.001
"""


def fill_pretraining_config(config: Config) -> Config:
    """`fill_config` plus a complete [pretraining] block and [corpora.pretrain].

    When the config leaves [pretraining] component out, it names the first component
    with an embedding of its own (a tok2vec component, or e.g. a tagger whose tok2vec
    is not a listener, with layer = "tok2vec").
    """
    config = Config(config, is_interpolated=False)
    written = dict(config.get("pretraining") or {})
    if "component" not in written:
        guess = _guess_target(config)
        if guess is not None:
            config = Config(config, is_interpolated=False)
            config["pretraining"] = {**written, "component": guess[0], "layer": written.get("layer", guess[1])}
    return fill_config(config, base=BASE_CONFIG + PRETRAIN_DEFAULTS)


def _guess_target(config: Dict[str, Any]) -> Optional[tuple]:
    components = config.get("components") or {}
    for name, block in components.items():
        if isinstance(block, dict) and block.get("factory") == "tok2vec":
            return name, ""
    for name, block in components.items():
        tok2vec = (block.get("model") or {}).get("tok2vec") if isinstance(block, dict) else None
        if isinstance(tok2vec, dict) and not is_listener_block(tok2vec):
            return name, "tok2vec"
    return None


# ------------------------------------------------------------------ masking


def mask_docs(docs: List[Doc], rng: numpy.random.Generator, mask_prob: float) -> Tuple[List[Doc], numpy.ndarray]:
    """Copies of `docs` in which about `mask_prob` of the tokens are hidden, and a bool
    array over all their tokens (in order) marking the chosen ones.

    Each chosen token becomes "[MASK]" (80%), a random word of the batch (10%), or
    stays as it is (10%). The replacement changes every feature of the token (its
    NORM, affixes, shape and static vector), so the model must guess it from context;
    the objective scores the original words.
    """
    pool = [w for doc in docs for w in doc.words]
    out, flags = [], []
    for doc in docs:
        words = list(doc.words)
        is_chosen = rng.random(len(words)) < mask_prob
        chosen = numpy.flatnonzero(is_chosen)
        if len(chosen):
            kind = rng.random(len(chosen))
            for i, u in zip(chosen, kind):
                if u < 0.8:
                    words[i] = MASK
                elif u < 0.9:
                    words[i] = pool[int(rng.integers(len(pool)))]
        out.append(Doc(doc.vocab, words, doc.spaces))
        flags.append(is_chosen)
    return out, (numpy.concatenate(flags) if flags else numpy.zeros((0,), dtype=bool))


# ------------------------------------------------------------------ the loop


@dataclass
class PretrainResult:
    output_dir: Path
    component: str
    layer: str
    epochs: List[Dict[str, Any]] = field(default_factory=list)
    saved: List[str] = field(default_factory=list)
    stopped_by: str = "end"


def pretrain(
    config: Config,
    output_dir: Path,
    *,
    resume_path: Optional[Path] = None,
    epoch_resume: Optional[int] = None,
    progress: bool = True,
    stream=sys.stdout,
    subscribers: Optional[List[Subscriber]] = None,
    stop: Optional[threading.Event] = None,
) -> PretrainResult:
    """Pretrain the embedding named by [pretraining] component / layer on [pretraining] corpus.

    subscribers: callables that receive every TrainingEvent ("start", "step", "epoch",
    then "end", or "stop" when `stop` was set: the epoch running then ends early and
    its weights are saved).
    """
    use_blas_cpu_ops()
    if "pretraining" not in config:
        raise ConfigError(
            "The config has no [pretraining] block. Add one with `python -m workbench init fill-config "
            "config.cfg config_pretrain.cfg --pretraining`, then pass config_pretrain.cfg."
        )
    from ..pipeline.language import Pipeline

    config = fill_pretraining_config(config)
    resolved = interpolate(config)
    P = resolved["pretraining"]
    _check_settings(P)
    fix_random_seed(P["seed"])
    rng = numpy.random.default_rng(P["seed"])
    shuffler = random.Random(P["seed"])

    nlp = Pipeline.from_config(config)
    if (resolved.get("initialize") or {}).get("vectors"):
        from ..vectors.formats import load_vectors_into

        load_vectors_into(nlp, resolved["initialize"]["vectors"])
    target = find_target(nlp, P["component"], P["layer"])
    objective: PretrainObjective = resolve_block(P["objective"], "pretraining.objective")
    objective.check(nlp.vocab)
    corpus = _corpus(resolved, P["corpus"])
    if hasattr(corpus, "texts"):
        for _ in corpus.texts():  # check every line first (JSON only): errors name file:line
            pass
    sample = [doc for doc in islice(_docs(corpus, nlp), 32)]
    if not sample:
        why = corpus.describe_empty() if hasattr(corpus, "describe_empty") else "has no texts"
        raise DataError(f"The pretraining corpus ({_corpus_path(resolved, P['corpus'])}) {why}.")
    target.model.initialize(X=sample[:10])
    width = to_doc_arrays(target.model.predict(sample[:2]), sample[:2])[0][0].shape[1]
    model = PretrainModel(target.model, objective.head(width, nlp.vocab))
    model.layers[1].initialize()

    start_epoch = 0
    if resume_path is not None:
        resume_path = Path(resume_path)
        start_epoch = _resume_epoch(resume_path, epoch_resume)
        load_weights(target.model, resume_path.read_bytes(), str(resume_path), target.description,
                     what="--resume-path", fix=RESUME_FIX)
        _resume_head(model.layers[1], resume_path, stream)
    elif epoch_resume is not None:
        raise ConfigError("--epoch-resume needs --resume-path (the model{N}.bin to continue from).")
    if start_epoch >= P["max_epochs"]:
        raise ConfigError(
            f"Resuming at epoch {start_epoch}, but [pretraining] max_epochs = {P['max_epochs']}: nothing "
            f"to do. Raise max_epochs (e.g. --pretraining.max_epochs {start_epoch + 10})."
        )

    optimizer = resolve_block(P["optimizer"], "pretraining.optimizer")
    batcher = resolve_block(P["batcher"], "pretraining.batcher")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    config.to_disk(output_dir / "config.cfg")
    result = PretrainResult(output_dir, target.component, target.layer)
    _say(stream, f"Pretraining {target.description} with the {objective.name} objective "
                 f"(width {width}); epochs {start_epoch}..{P['max_epochs'] - 1}")
    bus = EventBus(subscribers)
    bus.emit(TrainingEvent("start", message=f"pretraining {target.description} with the {objective.name} objective"))
    state = PretrainState(epoch=start_epoch)
    epochs = range(start_epoch, P["max_epochs"])
    steps = pretrain_while_improving(model, objective, batcher, lambda: _shuffled(_docs(corpus, nlp), shuffler),
                                     rng, optimizer, P, epochs, state, stop, progress)
    with (output_dir / "log.jsonl").open("a", encoding="utf8") as log:
        for event in steps:
            if event.kind == "epoch":
                row = event.scores
                if row["scored"] == 0 and not row.get("stopped"):
                    raise DataError(
                        f"Epoch {row['epoch']}: no token of the pretraining texts could be scored by the "
                        f"{objective.name} objective"
                        + (" (no word has a vector in vocab.vectors: are these the right vectors for the texts?)"
                           if objective.name == "vectors" else "") + "."
                    )
                log.write(json.dumps(row) + "\n")
                log.flush()
                result.epochs.append(row)
                epoch = row["epoch"]
                last = epoch == P["max_epochs"] - 1 or row.get("stopped")
                if last or not P["n_save_epoch"] or epoch % P["n_save_epoch"] == 0:
                    result.saved.append(_save(target.model, output_dir / f"model{epoch}.bin"))
                    _save(model.layers[1], _head_path(output_dir / f"model{epoch}.bin"))
                event.output_path = result.saved[-1] if result.saved else None
                _say(stream, f"epoch {epoch:>4}  loss {row['loss']:.4f}  words {row['words']:,}  "
                             f"words/s {row['words_per_second']:,.0f}" + ("  (stopped)" if row.get("stopped") else ""))
            elif event.kind == "save":
                result.saved.append(_save(model.layers[0], Path(output_dir) / event.output_path))
                continue
            bus.emit(event)
    result.stopped_by = state.stopped_by
    kind = "stop" if state.stopped_by == "stop requested" else "end"
    bus.emit(TrainingEvent(kind, step=state.step, epoch=state.epoch, words=state.words, message=state.stopped_by,
                           output_path=str(output_dir)))
    return result


@dataclass
class PretrainState:
    """What the pretraining loop knows between steps."""

    step: int = 0
    epoch: int = 0
    words: int = 0
    stopped_by: str = "end"


def pretrain_while_improving(model, objective, batcher, epoch_docs, rng, optimizer, P, epochs: Iterable[int],
                             state: PretrainState, stop: Optional[threading.Event] = None,
                             progress: bool = False) -> Iterator[TrainingEvent]:
    """Update the target and the objective's head on masked batches, epoch after epoch.

    Yields a "step" event after every batch, a "save" event every [pretraining]
    n_save_every batches (output_path: the file name), and an "epoch" event (scores:
    the epoch's row for log.jsonl) at the end of each epoch, or early when `stop` is
    set (the row then says "stopped": true).
    """
    total_words: Optional[int] = None
    for epoch in epochs:
        state.epoch = epoch
        loss_sum, scored, words, n_batches = 0.0, 0, 0, 0
        start = time.perf_counter()
        bar = tqdm(total=total_words, unit="words", desc=f"pretrain epoch {epoch}", leave=False,
                   file=sys.stderr, disable=not progress)
        stopped = False
        for batch in batcher(epoch_docs()):
            masked, chosen = mask_docs(batch, rng, P["mask_prob"])
            rows = None if P["predict"] == "all" else numpy.flatnonzero(chosen)
            if rows is not None and not len(rows):
                continue  # nothing was masked in this (small) batch
            set_dropout_rate(model, P["dropout"])
            Y, backprop = model.begin_update((masked, rows))
            loss, dY, n = objective.get_loss(batch, Y, rows)
            backprop(dY)
            model.finish_update(optimizer)
            optimizer.step_schedules()
            loss_sum += loss * n
            scored += n
            n_words = sum(len(doc) for doc in batch)
            words += n_words
            n_batches += 1
            state.step += 1
            state.words += n_words
            bar.update(n_words)
            seconds = time.perf_counter() - start
            yield TrainingEvent("step", step=state.step, epoch=epoch, losses={"pretraining": float(loss)},
                                words=state.words, words_per_second=words / seconds if seconds else 0.0)
            if P["n_save_every"] and n_batches % P["n_save_every"] == 0:
                yield TrainingEvent("save", step=state.step, epoch=epoch, output_path=f"model{epoch}_{n_batches}.bin")
            if stop is not None and stop.is_set():
                stopped = True
                break
        bar.close()
        seconds = time.perf_counter() - start
        total_words = words
        row = {
            "epoch": epoch, "loss": loss_sum / scored if scored else 0.0, "scored": scored, "words": words,
            "batches": n_batches, "seconds": round(seconds, 3),
            "words_per_second": round(words / seconds, 1) if seconds else 0.0,
        }
        if stopped:
            row["stopped"] = True
        yield TrainingEvent("epoch", step=state.step, epoch=epoch, losses={"pretraining": row["loss"]},
                            words=state.words, words_per_second=row["words_per_second"], scores=row)
        if stopped:
            state.stopped_by = "stop requested"
            return


def _head_path(weights: Path) -> Path:
    """The objective head saved beside model{N}.bin, used only to resume."""
    return weights.with_name(weights.stem + ".head.bin")


def _resume_head(head, weights: Path, stream) -> None:
    path = _head_path(weights)
    if not path.is_file():
        _say(stream, f"Resuming without {path.name}: the objective's output layer starts afresh.")
        return
    try:
        load_weights(head, path.read_bytes(), str(path), "the objective's output layer", what="--resume-path")
    except (ConfigError, DataError) as err:
        _say(stream, f"Resuming with a fresh output layer ({path.name} does not fit: {err}).")


def _save(model, path: Path) -> str:
    """Write the weights to a sibling first, then rename: PATH is never half-written."""
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        partial.write_bytes(model.to_bytes())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return str(path)


def _say(stream, line: str) -> None:
    if stream is not None:
        print(line, file=stream, flush=True)


def _check_settings(P: Dict[str, Any]) -> None:
    """What one setting's declared range cannot say (the ranges are in workbench.settings)."""
    if P["predict"] == "masked" and not float(P["mask_prob"]) > 0:
        raise ConfigError("[pretraining] predict = \"masked\" needs mask_prob > 0.")


_EPOCH_IN_NAME = re.compile(r"model(\d+)\.bin$")


def _resume_epoch(path: Path, epoch_resume: Optional[int]) -> int:
    if not path.is_file():
        raise DataError(f"--resume-path {path}: no such file.")
    if epoch_resume is not None:
        if epoch_resume < 0:
            raise ConfigError(f"--epoch-resume must be >= 0, got {epoch_resume}.")
        return epoch_resume
    match = _EPOCH_IN_NAME.search(path.name)
    if not match:
        raise ConfigError(
            f"--resume-path {path.name}: cannot tell its epoch from the name (expected model{{N}}.bin). "
            f"Pass --epoch-resume N (the next epoch to run)."
        )
    return int(match.group(1)) + 1


def _corpus(resolved: Dict[str, Any], key: str):
    section, _, name = key.partition(".")
    block = (resolved.get(section) or {}).get(name)
    if block is None:
        raise ConfigError(f"[pretraining] corpus = \"{key}\", but the config has no [{key}] section.")
    if "path" in block and block["path"] is None:
        raise ConfigError(
            f"[{key}] path is not set. Pass the texts: `python -m workbench pretrain TEXTS.jsonl OUTDIR "
            f"CONFIG`, or set [paths] raw_text."
        )
    return resolve_block(block, key)


def _corpus_path(resolved: Dict[str, Any], key: str) -> str:
    section, _, name = key.partition(".")
    return str(((resolved.get(section) or {}).get(name) or {}).get("path"))


def _docs(corpus, nlp) -> Iterator[Doc]:
    for item in corpus(nlp):
        doc = getattr(item, "reference", item)
        if len(doc):
            yield doc


def _shuffled(docs: Iterable[Doc], shuffler: random.Random) -> Iterator[Doc]:
    """Stream the docs, shuffled within windows of SHUFFLE_WINDOW."""
    window: List[Doc] = []
    for doc in docs:
        window.append(doc)
        if len(window) >= SHUFFLE_WINDOW:
            shuffler.shuffle(window)
            yield from window
            window = []
    shuffler.shuffle(window)
    yield from window
