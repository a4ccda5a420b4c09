"""The README's "Start here" section: every tutorial in order, and a JSONL example the reader accepts."""
import json
import re
from pathlib import Path

from workbench.corpora.jsonl import check_doc_dict, read_jsonl_docs

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def start_here() -> str:
    start = README.index("## Start here")
    return README[start:README.index("\n## ", start + 1)]


def test_start_here_lists_every_tutorial_in_order_with_its_minutes():
    section = start_here()
    rows = re.findall(r"^\| (\d\d) \| `([^`]+)` \|([^|]+)\|([^|]+)\|([^|]+)\|$", section, flags=re.M)
    assert [name for _, name, *_ in rows] == sorted(p.stem for p in (ROOT / "notebooks").glob("0*.ipynb"))
    for *_, smoke, full in rows:  # the minutes with SMOKE and of the full run, per tutorial
        assert re.search(r"\d+ min", smoke) and re.search(r"\d+ min", full), (smoke, full)
    assert "make lab" in section and "WORKBENCH_SMOKE=1" in section
    assert "GPU" in section and "torch==2.13" in section and "cupy" in section  # the GPU install steps


def test_the_bring_your_own_data_example_is_what_the_reader_accepts(tmp_path):
    section = start_here()
    (block,) = re.findall(r"```json\n(.*?)```", section, flags=re.S)
    doc = json.loads(block)
    assert check_doc_dict(doc) is None
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(doc) + "\n")
    (read,) = list(read_jsonl_docs(path))
    assert read["words"] == ["Alice", "lives", "in", "Paris", "."] and read["ents"] == [[0, 1, "PER"], [3, 4, "LOC"]]
    for command in ("debug data", "convert"):  # how CoNLL-U and IOB files come in
        assert f"python -m workbench {command}" in section
