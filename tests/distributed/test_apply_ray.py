"""apply --ray on a real local Ray: the same output as apply, in order; errors named."""
from pathlib import Path

import pytest

from tests.helpers.sample import raw_texts, save_sample_model
from tests.helpers.timeout import time_limit
from workbench.apply import apply
from workbench.cli import main
from workbench.errors import DataError


def same_output(a: Path, b: Path) -> bool:
    """The same lines, vectors equal to float precision (the two sides may sum in another
    order when their BLAS thread counts differ)."""
    import json

    import numpy

    rows_a = [json.loads(line) for line in a.read_text().splitlines()]
    rows_b = [json.loads(line) for line in b.read_text().splitlines()]
    if len(rows_a) != len(rows_b):
        return False
    for x, y in zip(rows_a, rows_b):
        vx, vy = x.pop("vectors", None), y.pop("vectors", None)
        if x != y or (vx is None) != (vy is None):
            return False
        if vx is not None and not numpy.allclose(vx, vy, atol=1e-3):
            return False
    return True


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_sample_model(tmp_path_factory.mktemp("ray_model") / "model")


def test_apply_ray_writes_the_same_lines_as_apply(ray_cluster, model, tmp_path, capsys):
    import json

    texts = tmp_path / "texts.jsonl"
    rows = [json.dumps({"body": t}) for t in raw_texts(150)]
    rows.insert(10, "")
    texts.write_text("\n".join(rows) + "\n", encoding="utf8")
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    apply(model, texts, local, text_key="body", batch_size=32, progress=False)
    with time_limit(300, "apply --ray"):
        assert main(["apply", str(model), str(texts), str(remote), "--ray", "--text-key", "body", "--batch-size", "32"]) == 0
    assert remote.read_text() == local.read_text() and len(local.read_text().splitlines()) == 150
    assert "Annotated 150 docs" in capsys.readouterr().err


def test_apply_ray_reads_txt_files_and_names_a_bad_line(ray_cluster, model, tmp_path):
    from workbench.distributed import apply_ray

    folder = tmp_path / "texts"
    folder.mkdir()
    for i, text in enumerate(raw_texts(5)):
        (folder / f"doc{i}.txt").write_text(text, encoding="utf8")
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    apply(model, folder, local, vectors=True, progress=False)
    with time_limit(300, "apply_ray on .txt files"):
        summary = apply_ray(model, folder, remote, vectors=True, progress=False)
        assert same_output(remote, local) and summary["docs"] == 5
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"text": "fine"}\n{"text": "broken"\n')
        with pytest.raises(DataError, match=r"not valid JSON .*'\{\"text\": \"broken\"'"):
            apply_ray(model, bad, tmp_path / "out.jsonl", progress=False)
    assert not Path(tmp_path / "out.jsonl").exists()
