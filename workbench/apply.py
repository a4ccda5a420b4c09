"""`python -m workbench apply MODEL INPUT OUTPUT`: annotate a large input with a trained pipeline.

INPUT is a JSONL file (one object per line with the text under `text_key`), a `.txt`
file (one doc) or a folder of `.txt` files (one doc each, in name order). OUTPUT is
JSONL: one `Doc.to_json()` object per doc (text, words, spaces, tags, pos,
sent_starts, ents as [start, end, label] token offsets), plus `"file"` for `.txt`
inputs and, with `vectors=True`, `"vectors"`: one row per token (see `token_vectors`).
The output is itself an annotated corpus the workbench reads.

Everything streams: texts are read, annotated (`nlp.pipe`, in `n_process`
processes) and written one batch at a time, so memory stays flat however large the
input. The output is written to OUTPUT.partial and renamed when complete; an
existing OUTPUT is kept unless `force`. The same record functions serve
`workbench.distributed.ray_apply`, so both write the same lines.
"""
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple, Union

import numpy
import srsly

from .errors import DataError, WorkbenchError

VECTOR_DECIMALS = 5


# ------------------------------------------------------------------ input


def input_files(input_path: Union[str, Path]) -> Tuple[str, list]:
    """("jsonl" | "txt", [files]) for INPUT; a clear error for anything else."""
    path = Path(input_path)
    if not path.exists():
        raise WorkbenchError(f"apply: input {path} not found. Pass a .jsonl file, a .txt file or a folder of .txt files.")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.is_file())
        if not files:
            raise WorkbenchError(f"apply: the folder {path} has no .txt files. Pass a .jsonl file or a folder of .txt files.")
        return "txt", files
    if path.suffix == ".txt":
        return "txt", [path]
    if path.suffix in (".jsonl", ".ndjson"):
        return "jsonl", [path]
    raise WorkbenchError(f"apply: cannot read {path} ({path.suffix or 'no suffix'}): pass a .jsonl file, a .txt file or a folder of .txt files.")


def text_of_line(line: str, text_key: str, where: str) -> Optional[str]:
    """The text of one JSONL line (None for a blank line); errors name `where` (file:line)."""
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise DataError(f"{where}: not valid JSON ({e.msg}): {line[:60]!r}. Every line must hold one JSON object.") from None
    if not isinstance(obj, dict) or text_key not in obj:
        keys = ", ".join(sorted(obj)) if isinstance(obj, dict) else type(obj).__name__
        raise DataError(f"{where}: no {text_key!r} key (keys: {keys}). Name the key that holds the text with --text-key.")
    text = obj[text_key]
    if not isinstance(text, str):
        raise DataError(f"{where}: {text_key!r} must be a string, got {type(text).__name__}.")
    return text


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf8")
    except UnicodeDecodeError as err:
        raise DataError(f"{where}: not valid UTF-8 ({err.reason} at byte {err.start}); re-save it as UTF-8.") from None


def read_input(input_path: Union[str, Path], text_key: str = "text") -> Iterator[Tuple[str, Dict[str, Any]]]:
    """(text, extra output fields) for each doc of INPUT, read lazily."""
    kind, files = input_files(input_path)
    if kind == "txt":
        root = Path(input_path) if Path(input_path).is_dir() else Path(input_path).parent
        for file in files:
            yield _decode(file.read_bytes(), str(file)), {"file": str(file.relative_to(root))}
        return
    with open(files[0], "rb") as f:
        for n, raw in enumerate(f, 1):
            line = _decode(raw, f"{files[0]} line {n}")
            text = text_of_line(line, text_key, f"{files[0]} line {n}")
            if text is not None:
                yield text, {}


# ------------------------------------------------------------------ output


def token_vectors(doc: Any) -> Optional[numpy.ndarray]:
    """(n_tokens, width) float32: what the pipeline computed for each token: `doc.tensor`
    (a tok2vec), else the transformer's token vectors (`doc._.trf_data`, mean of the
    wordpieces), else the static vectors; None when there are none."""
    if doc.tensor is not None and len(doc):
        return numpy.asarray(doc.tensor)
    data = doc.user_data.get(("._.", "trf_data", None, None))
    if data is not None:
        return numpy.asarray(data.token_vectors())
    if doc.vocab.vectors.n_keys:
        return numpy.stack([t.vector for t in doc]) if len(doc) else numpy.zeros((0, doc.vocab.vectors.width), "f")
    return None


def doc_record(doc: Any, extra: Dict[str, Any], *, vectors: bool = False) -> str:
    """One output line (without the newline)."""
    record = doc.to_json()
    record.update(extra)
    if vectors:
        arr = token_vectors(doc)
        record["vectors"] = None if arr is None else numpy.round(arr.astype("float64"), VECTOR_DECIMALS).tolist()
    return srsly.json_dumps(record)


class OutputFile:
    """OUTPUT written as OUTPUT.partial and renamed when complete; refuses to overwrite
    an existing OUTPUT unless `force`."""

    def __init__(self, output_path: Union[str, Path], force: bool = False):
        self.path = Path(output_path)
        if self.path.is_dir():
            raise WorkbenchError(f"apply: output {self.path} is a folder; name a .jsonl file.")
        if self.path.exists() and not force:
            raise WorkbenchError(f"apply: {self.path} exists. Pass --force to overwrite it, or choose another output.")
        self.partial = self.path.with_name(self.path.name + ".partial")

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.partial, "w", encoding="utf8")
        return self.file

    def __exit__(self, exc_type, exc, tb):
        self.file.close()
        if exc_type is None:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)
        return False


class Progress:
    """Docs and words so far, a tqdm bar on stderr, and the final words/s line."""

    def __init__(self, enabled: bool = True, desc: str = "apply"):
        from tqdm import tqdm

        self.bar = tqdm(desc=desc, unit=" docs", disable=not enabled, file=sys.stderr, mininterval=0.5)
        self.docs = self.words = 0
        self.start = time.perf_counter()

    def update(self, n_docs: int, n_words: int) -> None:
        self.docs += n_docs
        self.words += n_words
        self.bar.update(n_docs)
        if self.bar.n and not self.bar.disable:
            self.bar.set_postfix_str(f"{self.words / max(time.perf_counter() - self.start, 1e-9):,.0f} words/s", refresh=False)

    def finish(self, output: Path) -> Dict[str, Any]:
        self.bar.close()
        seconds = time.perf_counter() - self.start
        summary = {"docs": self.docs, "words": self.words, "seconds": seconds,
                   "words_per_second": self.words / seconds if seconds else 0.0, "output": str(output)}
        print(f"Annotated {self.docs:,} docs, {self.words:,} words in {seconds:.1f}s: "
              f"{summary['words_per_second']:,.0f} words/s -> {output}", file=sys.stderr)
        return summary


# ------------------------------------------------------------------ the command


def apply(model: Union[str, Path], input_path: Union[str, Path], output_path: Union[str, Path], *,
          n_process: int = 1, batch_size: Optional[int] = None, text_key: str = "text", force: bool = False,
          vectors: bool = False, progress: bool = True) -> Dict[str, Any]:
    """Annotate INPUT with the pipeline saved at MODEL and write OUTPUT (see the module
    docstring); returns {"docs", "words", "seconds", "words_per_second", "output"}."""
    from .pipeline.language import load

    input_files(input_path)  # a bad input is reported before the model loads
    out = OutputFile(output_path, force)
    nlp = load(model)
    report = Progress(progress)
    with out as f:
        pairs = nlp.pipe(read_input(input_path, text_key), as_tuples=True, n_process=n_process,
                         batch_size=batch_size, keep_trf_data=vectors)
        for doc, extra in pairs:
            f.write(doc_record(doc, extra, vectors=vectors) + "\n")
            report.update(1, len(doc))
    return report.finish(out.path)
