"""`python -m workbench sweep CONFIG --param KEY=DIST ... --trials N -o OUT`: train one config
with different settings and keep the best.

KEY is a dotted config setting (as an override); DIST is `loguniform(lo,hi)`,
`uniform(lo,hi)`, `randint(lo,hi)` (hi excluded) or `choice(a,b,...)`. Every key
and every bound or choice is checked against the config before any trial starts.
The trials are planned up front (random search with `seed`, or the full grid of
the choices), so a sweep runs the same trials with or without Ray: one after
another here, or on Ray Tune (`workbench.distributed.tune`, with ASHA early
stopping, resources per trial and a limit on concurrent trials).

Each trial is a normal `train` run in OUT/trials/trial_NNN (config.cfg,
events.jsonl with every training event, model-best, model-last): a run folder the
TrainingDashboard and RunsView reopen, and `widgets.sweep_view.SweepView` shows. The sweep
writes OUT/results.csv and OUT/results.jsonl (one row per trial: its settings,
best metric, steps, status), OUT/best.cfg (the best trial's config) and
OUT/sweep.json (the swept settings, the metric and its mode).
"""
import csv
import itertools
import json
import math
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from confection import Config

from .config import apply_overrides, fill_config, load_config, parse_config, require_complete
from .errors import ConfigError, WorkbenchError

EVENTS = "events.jsonl"  # a trial's training events, as in every run folder
KINDS = {"loguniform": 2, "uniform": 2, "randint": 2, "choice": None}
_PARAM = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*=\s*(\w+)\((.*)\)\s*$")


@dataclass
class Param:
    """One swept setting: `key` (dotted), `kind` (a KINDS name) and its arguments."""

    key: str
    kind: str
    args: List[Any]

    def sample(self, rng: random.Random) -> Any:
        lo, hi = (self.args + [None, None])[:2]
        if self.kind == "loguniform":
            return math.exp(rng.uniform(math.log(lo), math.log(hi)))
        if self.kind == "uniform":
            return rng.uniform(lo, hi)
        if self.kind == "randint":
            return rng.randrange(lo, hi)
        return rng.choice(self.args)

    def checked_values(self) -> List[Any]:
        """The values to try on the config before the sweep starts: bounds or choices."""
        if self.kind == "randint":
            return [self.args[0], self.args[1] - 1]
        return list(self.args)


def parse_param(text: str) -> Param:
    """`"training.dropout=uniform(0.1,0.3)"` -> Param; a clear error for anything else."""
    m = _PARAM.match(text)
    example = "e.g. --param training.optimizer.learn_rate=loguniform(1e-4,1e-2)"
    if not m:
        raise ConfigError(f"--param {text!r}: write KEY=KIND(ARGS) with KIND one of {', '.join(KINDS)}, {example}.")
    key, kind, raw = m.groups()
    if kind not in KINDS:
        raise ConfigError(f"--param {text!r}: unknown distribution {kind!r}; use one of {', '.join(KINDS)}.")
    args = [_parse_arg(a.strip()) for a in raw.split(",") if a.strip()]
    n = KINDS[kind]
    if n is not None and len(args) != n:
        raise ConfigError(f"--param {text!r}: {kind} takes {n} numbers (low, high), got {len(args)}.")
    if kind == "choice" and not args:
        raise ConfigError(f"--param {text!r}: choice needs at least one value.")
    if n is not None:
        if not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args) or not args[0] < args[1]:
            raise ConfigError(f"--param {text!r}: {kind} needs two numbers with low < high.")
        if kind == "loguniform" and args[0] <= 0:
            raise ConfigError(f"--param {text!r}: loguniform needs a low bound above 0.")
        if kind == "randint" and not all(isinstance(a, int) for a in args):
            raise ConfigError(f"--param {text!r}: randint needs two integers.")
    return Param(key, kind, args)


def _parse_arg(raw: str) -> Any:
    """A number, true/false/null, or a string (quoted or bare)."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    try:
        return json.loads(raw)  # the json module: exact floats (0.3 stays 0.3)
    except ValueError:
        return raw


def plan_trials(params: Sequence[Param], n_trials: Optional[int], search: str = "random", seed: int = 0) -> List[Dict[str, Any]]:
    """The overrides of every trial. grid: every combination of the choices (the first
    n_trials of them when given); random: n_trials samples."""
    if search == "grid":
        ranged = [p.key for p in params if p.kind != "choice"]
        if ranged:
            raise ConfigError(f"--search grid needs choice(...) for every --param; {', '.join(ranged)} is a range. Use --search random.")
        combos = [dict(zip([p.key for p in params], values)) for values in itertools.product(*[p.args for p in params])]
        return combos[:n_trials] if n_trials else combos
    if search != "random":
        raise ConfigError(f"--search {search!r}: use random or grid.")
    if not n_trials or n_trials < 1:
        raise ConfigError("--trials: give the number of trials (1 or more) for a random search.")
    rng = random.Random(seed)
    return [{p.key: p.sample(rng) for p in params} for _ in range(n_trials)]


def validate(config: Config, params: Sequence[Param], metric: str, source: str = "the config") -> None:
    """Raise before any trial when a key is not a setting of the config, a value does not
    fit it, or the metric is neither `score` nor one of [training.score_weights]."""
    import difflib

    if not params:
        raise ConfigError("sweep: give at least one --param KEY=KIND(ARGS).")
    require_complete(config, source)
    filled = fill_config(config)
    for p in params:
        *sections, key = p.key.split(".")
        node = filled
        for name in sections:
            node = node.get(name) if isinstance(node, dict) else None
        if not isinstance(node, dict) or key not in node or isinstance(node[key], dict):
            known = _leaf_keys(filled)
            close = difflib.get_close_matches(p.key, known, n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"--param {p.key}: {source} has no setting {p.key}.{hint}")
        for value in p.checked_values():
            trial = apply_overrides(config, {p.key: value}, source)
            try:
                _resolve_check(trial)
            except Exception as e:
                raise ConfigError(f"--param {p.key}={p.kind}(...): the value {value!r} does not fit {source}: {e}") from None
    weights = filled["training"].get("score_weights", {})
    if metric != "score" and metric not in weights:
        raise ConfigError(f"--metric {metric!r}: use 'score' (the weighted score) or one of [training.score_weights]: {', '.join(weights)}.")


def _resolve_check(config: Config) -> None:
    """Fill the config (confection checks every setting of every registered function, the
    components' included) and build the optimizer and batcher (their values are checked
    there); corpora and models are not loaded."""
    from .config import interpolate, resolve_block

    resolved = interpolate(fill_config(config))
    for key in ("optimizer", "batcher"):
        if key in resolved["training"]:
            resolve_block(resolved["training"][key], f"training.{key}")


def _leaf_keys(node: Dict[str, Any], prefix: str = "") -> List[str]:
    out = []
    for k, v in node.items():
        if isinstance(v, dict):
            out += _leaf_keys(v, f"{prefix}{k}.")
        else:
            out.append(prefix + k)
    return out


# ------------------------------------------------------------------ one trial


def trial_name(index: int) -> str:
    return f"trial_{index:03d}"


def run_trial(config_text: str, overrides: Dict[str, Any], trial_dir: Path, *,
              report: Optional[Callable[[Dict[str, Any]], None]] = None, stop: Any = None) -> Dict[str, Any]:
    """Train one trial in `trial_dir`; `report(metrics)` at each evaluation (Tune's hook).
    The trial folder is a normal run folder: events.jsonl holds every training event
    (`EventLog`), so the dashboard and the runs view reopen it."""
    from .training.events import EventLog
    from .training.loop import train

    trial_dir = Path(trial_dir)
    trial_dir.mkdir(parents=True, exist_ok=True)
    config = apply_overrides(parse_config(config_text), overrides)
    config.to_disk(trial_dir / "config.cfg")
    (trial_dir / EVENTS).unlink(missing_ok=True)  # a trial run again starts a fresh log
    log = EventLog(trial_dir / EVENTS)

    def record(event) -> None:
        log(event)
        if event.kind == "evaluate" and report is not None:
            report(evaluation_metrics(event))

    try:
        result = train(config, trial_dir, subscribers=[record], stop=stop)
    finally:
        log.close()
    return {"best_score": result.best_score, "steps": result.steps, "stopped_by": result.stopped_by}


def evaluation_metrics(event) -> Dict[str, Any]:
    """The numbers one evaluation reports: step, epoch, score and every numeric score."""
    scores = {k: float(v) for k, v in (event.scores or {}).items()
              if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(float(v))}
    return {"step": event.step, "epoch": event.epoch, "score": float(event.score or 0.0), **scores,
            "words_per_second": event.words_per_second}


def read_evaluations(trial_dir: Path) -> Tuple[List[Dict[str, Any]], int, bool]:
    """(the metrics of each evaluation, the last step, whether the trial finished) from its
    events.jsonl; nothing for a trial that never started."""
    from .training.events import read_events

    path = Path(trial_dir) / EVENTS
    if not path.exists():
        return [], 0, False
    events = read_events(path)
    evals = [evaluation_metrics(e) for e in events if e.kind == "evaluate"]
    return evals, max((e.step for e in events), default=0), any(e.kind == "end" for e in events)


# ------------------------------------------------------------------ the sweep


def sweep(config: Any, params: Sequence[str], output: Any, *, n_trials: Optional[int] = None, search: str = "random",
          metric: str = "score", mode: str = "max", seed: int = 0, overrides: Optional[Dict[str, Any]] = None,
          force: bool = False, use_ray: bool = False, address: Optional[str] = None, max_concurrent: Optional[int] = None,
          cpus_per_trial: float = 1, gpus_per_trial: float = 0, grace_period: int = 1,
          progress: bool = True) -> List[Dict[str, Any]]:
    """Run the sweep (see the module docstring); returns the result rows, best first."""
    source = str(config) if isinstance(config, (str, Path)) else "the config"
    config = load_config(config, overrides) if isinstance(config, (str, Path)) else apply_overrides(config, overrides or {})
    if mode not in ("max", "min"):
        raise ConfigError(f"--mode {mode!r}: use max or min.")
    parsed = [parse_param(p) if isinstance(p, str) else p for p in params]
    validate(config, parsed, metric, source)
    trials = plan_trials(parsed, n_trials, search, seed)
    output = Path(output)
    if (output / "results.jsonl").exists() and not force:
        raise WorkbenchError(f"sweep: {output} already holds a sweep (results.jsonl). Pass --force to overwrite it, or choose another output.")
    output.mkdir(parents=True, exist_ok=True)
    text = config.to_str()
    statuses: Dict[int, str] = {}
    if use_ray:
        from .distributed.tune import run_on_tune

        statuses = run_on_tune(text, trials, output, metric=metric, mode=mode, address=address, max_concurrent=max_concurrent,
                               cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial, grace_period=grace_period,
                               max_evaluations=_max_evaluations(config))
    else:
        for i, overrides_i in enumerate(trials):
            if progress:
                print(f"sweep: {trial_name(i)} ({i + 1}/{len(trials)}): {_fmt(overrides_i)}", file=sys.stderr)
            try:
                run_trial(text, overrides_i, output / "trials" / trial_name(i))
                statuses[i] = "done"
            except WorkbenchError as e:
                statuses[i] = f"failed: {e}"
    rows = result_rows(output, trials, statuses, metric, mode)
    write_results(output, rows, text, metric)
    write_plan(output, parsed, metric, mode)
    if progress:
        print(format_table(rows, [p.key for p in parsed], metric), file=sys.stderr)
    return rows


def _max_evaluations(config: Config) -> int:
    training = config["training"]
    steps, every = int(training.get("max_steps") or 0), int(training.get("eval_frequency") or 1)
    return steps // every + 1 if steps else 1000


def result_rows(output: Path, trials: List[Dict[str, Any]], statuses: Dict[int, str], metric: str, mode: str) -> List[Dict[str, Any]]:
    """One row per trial from its events.jsonl, best first (failed trials last)."""
    rows = []
    for i, overrides in enumerate(trials):
        folder = output / "trials" / trial_name(i)
        evals, steps, finished = read_evaluations(folder)
        evals = [e for e in evals if metric in e]
        status = statuses.get(i, "done")
        if status == "done" and not finished:
            status = "stopped early"
        pick = max if mode == "max" else min
        best = pick(evals, key=lambda e: e[metric]) if evals else None
        rows.append({"trial": trial_name(i), **overrides, metric: best[metric] if best else None,
                     "best_step": best["step"] if best else None, "evaluations": len(evals),
                     "steps": steps, "status": status, "path": str(folder)})
    sign = -1 if mode == "max" else 1
    rows.sort(key=lambda r: (r[metric] is None, sign * (r[metric] or 0.0)))
    return rows


def write_results(output: Path, rows: List[Dict[str, Any]], config_text: str, metric: str) -> None:
    """results.jsonl, results.csv and best.cfg (the best trial's config)."""
    with open(output / "results.jsonl", "w", encoding="utf8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(output / "results.csv", "w", encoding="utf8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    best = rows[0] if rows and rows[0][metric] is not None else None
    if best is not None:
        (output / "best.cfg").write_text((Path(best["path"]) / "config.cfg").read_text(encoding="utf8"), encoding="utf8")


def write_plan(output: Path, params: Sequence[Param], metric: str, mode: str) -> None:
    """OUT/sweep.json: what was swept and what was optimised (read by the sweep view)."""
    plan = {"metric": metric, "mode": mode, "params": [{"key": p.key, "kind": p.kind, "args": p.args} for p in params]}
    (output / "sweep.json").write_text(json.dumps(plan, indent=1) + "\n", encoding="utf8")


def format_table(rows: List[Dict[str, Any]], keys: List[str], metric: str) -> str:
    head = ["trial", *keys, metric, "best_step", "status"]
    lines = ["  ".join(f"{h:>14}" for h in head)]
    for row in rows:
        lines.append("  ".join(f"{_cell(row.get(h)):>14}" for h in head))
    if rows and rows[0][metric] is not None:
        lines.append(f"best: {rows[0]['trial']} ({metric} {rows[0][metric]:.4f}); its config is best.cfg")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)[:14]


def _fmt(overrides: Dict[str, Any]) -> str:
    return ", ".join(f"{k}={_cell(v)}" for k, v in overrides.items())
