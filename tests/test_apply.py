"""`workbench apply`: JSONL and .txt inputs, the JSONL output, n_process, --force, errors."""
import json
from pathlib import Path

import pytest

from tests.helpers.sample import save_sample_model
from tests.helpers.timeout import time_limit
from workbench.apply import apply, read_input
from workbench.cli import main
from workbench.errors import DataError, WorkbenchError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="session")
def sample_model(tmp_path_factory):
    """The sample tagger + ner pipeline (shared tok2vec), briefly trained and saved."""
    return save_sample_model(tmp_path_factory.mktemp("apply") / "model")


@pytest.fixture(scope="session")
def texts_jsonl(tmp_path_factory):
    path = tmp_path_factory.mktemp("apply_in") / "texts.jsonl"
    lines = (SAMPLE / "raw_text.jsonl").read_text(encoding="utf8").splitlines()[:60]
    lines.insert(3, "")  # a blank line is skipped
    path.write_text("\n".join(json.dumps({"body": json.loads(l)["text"], "id": i}) if l else "" for i, l in enumerate(lines)) + "\n")
    return path


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf8").splitlines()]


def test_apply_writes_annotated_jsonl_in_input_order(sample_model, texts_jsonl, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["apply", str(sample_model), str(texts_jsonl), str(out), "--text-key", "body", "--batch-size", "16"]) == 0
    rows = read_jsonl(out)
    texts = [t for t, _ in read_input(texts_jsonl, "body")]
    assert len(rows) == 60 and [r["text"] for r in rows] == texts
    assert all(len(r["pos"]) == len(r["words"]) and all(r["pos"]) for r in rows)
    assert any(r["ents"] for r in rows) and all(isinstance(e[2], str) for r in rows for e in r["ents"])
    assert "vectors" not in rows[0] and not out.with_name("out.jsonl.partial").exists()
    err = capsys.readouterr().err
    assert "Annotated 60 docs" in err and "words/s" in err
    # the output is an annotated corpus the workbench reads back
    from workbench import Doc, Vocab

    assert Doc.from_json(Vocab(), rows[0]).text == texts[0]


def test_apply_in_two_processes_writes_the_same_lines(sample_model, texts_jsonl, tmp_path):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    apply(sample_model, texts_jsonl, one, text_key="body", batch_size=16, progress=False)
    with time_limit(240, "apply --n-process 2"):
        summary = apply(sample_model, texts_jsonl, two, text_key="body", batch_size=16, n_process=2, progress=False)
    assert two.read_text() == one.read_text()
    assert summary["docs"] == 60 and summary["words"] == sum(len(r["words"]) for r in read_jsonl(two))


def test_apply_reads_a_folder_of_txt_files_and_writes_vectors(sample_model, tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "b.txt").write_text("Maria flew to Berlin on Monday.", encoding="utf8")
    (folder / "a.txt").write_text("The river was cold.\nWe swam anyway.", encoding="utf8")
    (folder / "notes.md").write_text("not read")
    out = tmp_path / "out.jsonl"
    apply(sample_model, folder, out, vectors=True, progress=False)
    rows = read_jsonl(out)
    assert [r["file"] for r in rows] == ["a.txt", "b.txt"]
    assert rows[0]["text"] == "The river was cold.\nWe swam anyway."
    assert len(rows[1]["vectors"]) == len(rows[1]["words"]) and len(rows[1]["vectors"][0]) == 96


def test_apply_keeps_an_existing_output_and_names_bad_lines(sample_model, texts_jsonl, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    assert main(["apply", str(sample_model), str(texts_jsonl), str(out), "--text-key", "body"]) == 1
    assert "exists. Pass --force" in capsys.readouterr().err and out.read_text() == "precious\n"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": "broken"\n')
    with pytest.raises(DataError, match=r"bad.jsonl line 2: not valid JSON"):
        apply(sample_model, bad, out, force=True, progress=False)
    assert out.read_text() == "precious\n" and not out.with_name("out.jsonl.partial").exists()
    with pytest.raises(DataError, match=r"line 1: no 'text' key \(keys: body, id\)\. Name the key .* --text-key"):
        apply(sample_model, texts_jsonl, out, force=True, progress=False)
    with pytest.raises(WorkbenchError, match="cannot read .*model"):
        apply(sample_model, sample_model / "config.cfg", out, force=True)
    assert main(["apply", str(sample_model), str(texts_jsonl), str(out), "--address", "x"]) == 1
    assert "--address only works with --ray" in capsys.readouterr().err


def test_import_workbench_never_imports_ray():
    import subprocess
    import sys

    code = "import sys, workbench, workbench.cli, workbench.apply, workbench.distributed; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
