"""Pretraining runs as plain data: the per-epoch log and the with/without comparison.

`workbench.pretraining.loop.pretrain` writes one JSON line per epoch to
OUTDIR/log.jsonl ({"epoch", "loss", "words", "seconds", "words_per_second", ...});
`PretrainLog` reads the lines that appeared since it was created, so a panel can
plot the loss while pretraining runs in another thread.
"""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from .training import TrainingHistory, flat_scores


class PretrainLog:
    """Reads the new epoch rows of OUTDIR/log.jsonl (the file is appended to across runs)."""

    def __init__(self, output_dir: Path):
        self.path = Path(output_dir) / "log.jsonl"
        self._offset = self.path.stat().st_size if self.path.exists() else 0
        self.rows: List[Dict[str, Any]] = []

    def refresh(self) -> int:
        """Read complete lines written since the last call; returns how many rows were added."""
        if not self.path.exists():
            return 0
        with self.path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next call
        added = 0
        for line in chunk[:end].splitlines():
            if line.strip():
                self.rows.append(json.loads(line))
                added += 1
        self._offset += end
        return added

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


__all__ = ["PretrainLog", "comparison_table", "final_weights", "flat_scores"]
