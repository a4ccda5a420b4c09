"""What the benchmarks share: the gold data beside the repository, the held-out split, sizes.

- `need(path)`: the path, or a SKIP line and exit 0 when ../shared/data is absent;
- `split_ewt(tmp)`: EWT dev as JSONL (UPOS, heads and relations; UNER entities and the
  genre as cats on request), every 5th document held out: whole documents, so names
  seen in training do not leak into the held-out part, and every genre is on both sides;
- `peer_docbins(peer_python, out, *jsonl)`: the same JSONL files as spaCy DocBins, written by
  the peer's interpreter (bench/spacy_docbin.py), so both sides read the same sentences;
- `dir_size(path)`: bytes on disk under a folder.
"""
import json
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CONLLU_DEV = DATA / "ud-ewt" / "en_ewt-ud-dev.conllu"
UNER_DEV = DATA / "uner-ewt" / "en_ewt-ud-dev.iob2"


def need(path: Path) -> Path:
    if not path.exists():
        print(f"SKIP: {path} not found (this benchmark reads ../shared/data beside the repository).")
        sys.exit(0)
    return path


def split_ewt(tmp: Path, *, entities: bool = True, cats: bool = False, every: int = 5) -> Tuple[Path, Path, int, int]:
    """(train.jsonl, heldout.jsonl, n_train, n_held) in `tmp`, one sentence per line; document i
    (by `# sent_id` prefix, in order of first appearance) is held out when i % every == every - 1."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from workbench.corpora.convert import convert

    conllu = need(CONLLU_DEV)
    merged = tmp / "ewt_dev.jsonl"
    sources = [conllu, need(UNER_DEV)] if entities else [conllu]
    convert(sources, merged, merge=entities, cats_from_sent_id=cats)
    lines = merged.read_text(encoding="utf8").splitlines()
    sent_ids = [line.split("=", 1)[1].strip() for line in conllu.read_text(encoding="utf8").splitlines()
                if line.startswith("# sent_id")]
    assert len(sent_ids) == len(lines), "one JSONL line per CoNLL-U sentence, in order"
    doc_ids = [sid.rsplit("-", 1)[0] for sid in sent_ids]
    held_docs = {d for i, d in enumerate(dict.fromkeys(doc_ids)) if i % every == every - 1}
    train = [line for line, d in zip(lines, doc_ids) if d not in held_docs]
    held = [line for line, d in zip(lines, doc_ids) if d in held_docs]
    (tmp / "train.jsonl").write_text("\n".join(train) + "\n", encoding="utf8")
    (tmp / "heldout.jsonl").write_text("\n".join(held) + "\n", encoding="utf8")
    return tmp / "train.jsonl", tmp / "heldout.jsonl", len(train), len(held)


def peer_docbins(peer_python: Path, out: Path, *jsonl: Path) -> List[Path]:
    """`out/<stem>.spacy` for each JSONL file, made by the peer's spaCy from exactly these lines."""
    out.mkdir(parents=True, exist_ok=True)
    targets = [out / f"{Path(src).stem}.spacy" for src in jsonl]
    args = [str(a) for pair in zip(jsonl, targets) for a in pair]
    done = subprocess.run([str(peer_python), str(ROOT / "bench" / "spacy_docbin.py"), *args],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the peer could not write its DocBins ({peer_python}):\n{done.stderr[-2000:]}")
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    for src, dst in zip(jsonl, targets):
        lines = sum(1 for line in Path(src).read_text(encoding="utf8").splitlines() if line.strip())
        assert counts[str(dst)]["docs"] == lines, f"{dst}: {counts[str(dst)]['docs']} docs for {lines} lines of {src}"
    return targets


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
