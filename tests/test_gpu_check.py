"""bench/gpu_check.py: one line and exit 0 without a GPU; its rows, run on the CPU (--cpu-dry-run)."""
import importlib.util
import json

import torch

from tests.helpers import ROOT
from tests.helpers.trf import tiny_bert_path


def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "bench" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_gpu_it_prints_one_line_and_exits_0(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check().main(["--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["gpu_check: no CUDA GPU here (torch.cuda.is_available() is False); nothing to check."]
    assert not list(tmp_path.iterdir())


def test_the_cpu_dry_run_fills_the_table(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rc = gpu_check().main(["--cpu-dry-run", "--model", str(tiny_bert_path()), "--words", "300", "--train-steps", "2",
                           "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    saved = json.loads(next(tmp_path.glob("gpu_check-cpu-dry-run-*.json")).read_text())
    checks = {row["check"]: row for row in saved["rows"]}
    assert {"environment", "fp32: inference", "fp32: training", "time"} <= set(checks)
    assert all(row["ok"] for row in saved["rows"]), saved["rows"]
    fp32 = saved["precisions"]["fp32"]
    assert fp32["inference_words_per_s"] > 0 and fp32["training_words_per_s"] > 0 and fp32["component_over_raw"] > 0
    assert "tagger" in fp32["losses"] and "component/raw time" in checks["fp32: inference"]["result"]
    table = out[out.index("\n---"):]  # the table printed at the end
    assert "ok    fp32: inference" in table and "ok    fp32: training" in table
