"""A config sweep's output folder as plain data: its trials, their settings and scores,
parallel-coordinate positions and score curves.

A sweep folder (`python -m workbench sweep ... -o OUT`) holds results.jsonl (one
row per trial, best first), sweep.json (the swept settings with their
distributions, the metric and its mode), best.cfg, and trials/trial_NNN: each a
run folder with events.jsonl.
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from workbench.errors import DataError

from .runs import EVENTS, Run, load_run

RESULTS, PLAN = "results.jsonl", "sweep.json"
FIXED = ("trial", "best_step", "evaluations", "steps", "status", "path")  # result columns that are not settings


@dataclass
class Sweep:
    """A sweep read back from its folder: rows best first, as results.jsonl holds them."""

    path: Path
    metric: str
    mode: str
    params: List[Dict[str, Any]]  # [{"key", "kind", "args"}], in the order they were given
    rows: List[Dict[str, Any]]

    @property
    def keys(self) -> List[str]:
        return [p["key"] for p in self.params]

    @property
    def best(self) -> Optional[Dict[str, Any]]:
        """The best trial's row (None when no trial reported the metric)."""
        return self.rows[0] if self.rows and self.rows[0].get(self.metric) is not None else None

    def trial_path(self, trial: str) -> Path:
        """A trial's run folder (under the sweep folder, wherever that has moved)."""
        return self.path / "trials" / trial


def load_sweep(path: Union[str, Path]) -> Sweep:
    """The sweep in `path`; a clear error when it is not a sweep folder."""
    path = Path(path)
    results = path / RESULTS
    if not results.is_file():
        raise DataError(f"{path}: no {RESULTS}; is this the output folder of `python -m workbench sweep`? "
                        f"(A sweep still running writes it when its last trial ends.)")
    rows = []
    for number, line in enumerate(results.read_text(encoding="utf8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                raise DataError(f"{results}:{number}: not a JSON row ({e}). Run the sweep again with --force.") from None
    plan = json.loads((path / PLAN).read_text(encoding="utf8")) if (path / PLAN).is_file() else {}
    metric = plan.get("metric") or _guess_metric(rows)
    params = plan.get("params") or [{"key": k, "kind": "choice", "args": []} for k in _setting_columns(rows, metric)]
    return Sweep(path, metric, plan.get("mode", "max"), params, rows)


def _setting_columns(rows: List[Dict[str, Any]], metric: str) -> List[str]:
    keys = dict.fromkeys(k for row in rows for k in row)
    return [k for k in keys if k not in FIXED and k != metric]


def _guess_metric(rows: List[Dict[str, Any]]) -> str:
    """A sweep without sweep.json: the column before best_step is the metric."""
    columns = list(rows[0]) if rows else []
    return columns[columns.index("best_step") - 1] if "best_step" in columns[1:] else "score"


def trial_table(sweep: Sweep):
    """One row per trial, best first: trial, the settings, the metric, best step, evaluations, status."""
    import pandas

    columns = ["trial", *sweep.keys, sweep.metric, "best_step", "evaluations", "steps", "status"]
    return pandas.DataFrame([{c: row.get(c) for c in columns} for row in sweep.rows], columns=columns)


def trial_runs(sweep: Sweep) -> List[Run]:
    """Each trial's run (from its events.jsonl), in the rows' order; trials without events are left out."""
    return [load_run(sweep.trial_path(row["trial"]), row["trial"]) for row in sweep.rows
            if (sweep.trial_path(row["trial"]) / EVENTS).is_file()]


def score_curves(sweep: Sweep, metric: Optional[str] = None) -> Dict[str, Tuple[List[int], List[float]]]:
    """{trial: (steps, the metric at each evaluation)} for the trials that evaluated."""
    metric = metric or sweep.metric
    curves = {}
    for run in trial_runs(sweep):
        steps, values = run.history.scores.get(metric, ([], []))
        if steps:
            curves[run.name] = (list(steps), list(values))
    return curves


@dataclass
class Axis:
    """One vertical axis of the parallel-coordinates plot: positions in [0, 1] per row."""

    name: str
    positions: List[float]  # one per row; nan where the row has no value
    ticks: List[Tuple[float, str]]  # (position, label)
    log: bool = False


def parallel_axes(sweep: Sweep) -> List[Axis]:
    """An axis per swept setting (log-scaled for loguniform, one slot per value for choices
    and non-numbers) and a last one for the metric, each scaled to [0, 1]."""
    axes = []
    for param in sweep.params:
        values = [row.get(param["key"]) for row in sweep.rows]
        numeric = all(_is_number(v) for v in values if v is not None)
        if param["kind"] == "choice" or not numeric:
            axes.append(_categorical_axis(param["key"], values, param.get("args") or []))
        else:
            bounds = param.get("args") or []
            axes.append(_numeric_axis(param["key"], values, log=param["kind"] == "loguniform", bounds=bounds))
    metric_values = [row.get(sweep.metric) for row in sweep.rows]
    axes.append(_numeric_axis(sweep.metric, metric_values))
    return axes


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _categorical_axis(name: str, values: List[Any], choices: List[Any]) -> Axis:
    """Each distinct value (the choices first, in their order) gets an evenly spaced slot."""
    slots = list(dict.fromkeys([json.dumps(c) for c in choices] + [json.dumps(v) for v in values if v is not None]))
    if all(_is_number(json.loads(s)) for s in slots):
        slots.sort(key=lambda s: json.loads(s))
    where = {s: (i / (len(slots) - 1) if len(slots) > 1 else 0.5) for i, s in enumerate(slots)}
    positions = [where[json.dumps(v)] if v is not None else math.nan for v in values]
    return Axis(name, positions, [(where[s], _label(json.loads(s))) for s in slots])


def _numeric_axis(name: str, values: List[Any], *, log: bool = False, bounds: List[Any] = ()) -> Axis:
    """Scaled between the distribution's bounds (or the values' range), on a log scale if `log`."""
    present = [float(v) for v in values if _is_number(v) and not (log and v <= 0)]
    if not present:
        return Axis(name, [math.nan] * len(values), [], log)
    lo = min(present + [float(b) for b in bounds[:1]])
    hi = max(present + [float(b) for b in bounds[1:2]])

    def scale(v: float) -> float:
        if log:
            v, a, b = math.log10(v), math.log10(lo), math.log10(hi)
        else:
            a, b = lo, hi
        return 0.5 if b == a else (v - a) / (b - a)

    positions = [scale(float(v)) if _is_number(v) and not (log and v <= 0) else math.nan for v in values]
    ticks = [(scale(lo), _label(lo)), (scale(hi), _label(hi))] if hi != lo else [(0.5, _label(lo))]
    return Axis(name, positions, ticks, log)


def _label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
