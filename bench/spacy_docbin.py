"""The peer's copy of a benchmark split: our JSONL as spaCy 3.8 DocBin files.

Executed by the peer's interpreter (a scratch venv outside the repository), never by the
workbench; `ewt.peer_docbins` calls it:

    PEER_PYTHON bench/spacy_docbin.py IN.jsonl OUT.spacy [IN.jsonl OUT.spacy ...]

One Doc per JSONL line, with the gold words and spaces. UPOS goes into `tag_` (spaCy's
tagger learns `tag_`, so its `tag_acc` is UPOS accuracy, as our `pos_acc`) and `pos_`;
heads (absolute token indices), relations (`root` as spaCy's `ROOT`, as its own CoNLL-U
converter writes it; its scorer compares labels in lower case), sentence starts, entity
spans and cats are copied when the line has them. Prints one JSON line: docs and words written per file.
"""
import json
import sys
from pathlib import Path

import spacy
from spacy.tokens import Doc, DocBin, Span


def to_doc(vocab, r: dict) -> Doc:
    pos, deps = r.get("pos"), r.get("deps")
    deps = [("ROOT" if d == "root" else d) for d in deps] if deps else None
    doc = Doc(vocab, words=r["words"], spaces=r.get("spaces"), tags=pos, pos=pos, heads=r.get("heads"), deps=deps,
              sent_starts=None if r.get("heads") else r.get("sent_starts"))
    if "ents" in r:
        doc.ents = [Span(doc, start, end, label=label) for start, end, label in r["ents"]]
    if r.get("cats"):
        doc.cats = dict(r["cats"])
    return doc


def main() -> None:
    vocab = spacy.blank("en").vocab
    counts = {}
    pairs = sys.argv[1:]
    if not pairs or len(pairs) % 2:
        raise SystemExit("usage: spacy_docbin.py IN.jsonl OUT.spacy [IN.jsonl OUT.spacy ...]")
    for src, dst in zip(pairs[::2], pairs[1::2]):
        db = DocBin(store_user_data=False)
        words = 0
        for line in Path(src).read_text(encoding="utf8").splitlines():
            if line.strip():
                doc = to_doc(vocab, json.loads(line))
                words += len(doc)
                db.add(doc)
        db.to_disk(dst)
        counts[dst] = {"docs": len(db), "words": words}
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
