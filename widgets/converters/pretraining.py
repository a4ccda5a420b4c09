"""Pretraining runs as plain data: the per-epoch log and the with/without comparison.

`workbench.pretraining.loop.pretrain` emits an "epoch" event per epoch, whose scores
are the row it writes to OUTDIR/log.jsonl ({"epoch", "loss", "words", "seconds",
"words_per_second", ...}); `PretrainEpochs` is the subscriber that keeps them, so a
panel can plot the loss while pretraining runs in another thread.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional

from .training import TrainingHistory, flat_scores


class PretrainEpochs:
    """A `pretrain()` subscriber: the row of every finished epoch, as log.jsonl gets it
    ("epoch", "loss", "words", "words_per_second", ...; "stopped" on the one a stop ended)."""

    def __init__(self) -> None:
        self.rows: List[Dict[str, Any]] = []

    def __call__(self, event: Any) -> None:
        if event.kind == "epoch" and event.scores:
            self.rows.append(dict(event.scores))

    def loss_curve(self) -> Dict[str, List[float]]:
        return {"epoch": [r["epoch"] for r in self.rows], "loss": [r["loss"] for r in self.rows]}


def final_weights(output_dir: Path, result: Any = None) -> Optional[Path]:
    """The weights file of the last epoch (from the PretrainResult, or the newest model{N}.bin)."""
    if result is not None and getattr(result, "saved", None):
        epoch_files = [p for p in result.saved if "_" not in Path(p).stem]
        return Path((epoch_files or result.saved)[-1])
    files = sorted(Path(output_dir).glob("model*.bin"), key=lambda p: p.stat().st_mtime)
    files = [p for p in files if not p.name.endswith(".head.bin")]
    return files[-1] if files else None


def comparison_table(histories: Dict[str, TrainingHistory]):
    """One row per run ("random init", "pretrained"): the best dev score and the scores at
    that evaluation, plus the final step."""
    import pandas

    rows = []
    for name, history in histories.items():
        history.refresh()
        evals = history.evaluations
        best = max(evals, key=lambda r: r.get("score", float("-inf"))) if evals else {}
        row = {"run": name, "steps": history.step}
        row.update({k: v for k, v in best.items() if k not in ("epoch", "best", "words_per_second")
                    and not k.startswith("loss_")})
        row["best_step"] = row.pop("step", None)
        rows.append(row)
    return pandas.DataFrame(rows)


__all__ = ["PretrainEpochs", "comparison_table", "final_weights", "flat_scores"]
