"""Which reader a file needs: suffix first, then a look at its first lines."""
import json
from pathlib import Path
from typing import Iterable, Iterator, List, Optional

from ..errors import DataError
from .base import OnError, Sentence
from .conllu import conllu_sentences, read_conllu
from .iob import iob_sentences, read_iob
from .jsonl import read_jsonl_docs

SUFFIXES = {".conllu": "conllu", ".iob": "iob", ".iob2": "iob", ".bio": "iob",
            ".biluo": "biluo", ".jsonl": "jsonl"}
FORMATS = ("conllu", "iob", "biluo", "jsonl", "text-jsonl")


def detect_corpus_format(path) -> Optional[str]:
    """One of FORMATS, from the suffix (and, for .jsonl or unknown suffixes, the first lines)."""
    path = Path(path)
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt in ("conllu", "iob", "biluo"):
        return fmt
    first = _first_content_line(path)
    if first is None:
        return fmt
    if first.lstrip().startswith("{"):
        try:
            obj = json.loads(first)
        except json.JSONDecodeError:
            return "jsonl"
        return "text-jsonl" if isinstance(obj, dict) and "text" in obj and "words" not in obj else "jsonl"
    if fmt == "jsonl":
        return fmt
    cols = first.split("\t")
    if len(cols) == 10 and cols[0].replace("-", "").replace(".", "").isdigit():
        return "conllu"
    last = (first.split() or [""])[-1].rsplit("|", 1)[-1]
    if last == "O" or (len(last) > 2 and last[1] == "-" and last[0] in "BILUES"):
        return "iob"
    return None


def _first_content_line(path: Path) -> Optional[str]:
    """First non-blank line that is not a comment (None if there is none in the first 1000)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for k, line in enumerate(f):
                if k >= 1000:
                    break
                if line.strip() and not line.startswith("#"):
                    return line.rstrip("\r\n").lstrip("\ufeff")
    except OSError:
        return None
    return None


def read_docs(path, *, format: Optional[str] = None, n_sents: int = 1,
              on_error: OnError = None) -> Iterator[dict]:
    """Yield annotated doc dicts from a CoNLL-U, IOB/BILUO or annotated JSONL file."""
    fmt = format or detect_corpus_format(path)
    if fmt == "conllu":
        return read_conllu(path, n_sents=n_sents, on_error=on_error)
    if fmt in ("iob", "biluo"):
        scheme = "biluo" if fmt == "biluo" else "auto"
        return read_iob(path, n_sents=n_sents, scheme=scheme, on_error=on_error)
    if fmt == "jsonl":
        return read_jsonl_docs(path, on_error=on_error)
    if fmt == "text-jsonl":
        raise DataError(f"{path}: raw text ({{\"text\": ...}} lines) has no annotation; "
                        "use it with JsonlCorpus / pretraining, or annotate it first")
    raise DataError(f"{path}: unknown corpus format; use .conllu, .iob/.iob2/.bio, "
                    ".biluo or annotated .jsonl (one Doc.to_json object per line)")


def corpus_files(path, suffixes: Iterable[str] = tuple(SUFFIXES)) -> List[Path]:
    """`path` itself, or the files with a supported suffix below a directory, sorted."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"corpus path {path} does not exist; check the path "
                        "(paths in configs are relative to the working directory)")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise DataError(f"corpus directory {path} holds no {'/'.join(suffixes)} files")
    return files


def sentences_of(path, fmt: Optional[str] = None, on_error: OnError = None) -> Iterator[Sentence]:
    """The sentences of a CoNLL-U or IOB/BILUO file (for conversion and merging)."""
    fmt = fmt or detect_corpus_format(path)
    if fmt == "conllu":
        return conllu_sentences(path, on_error=on_error)
    if fmt in ("iob", "biluo"):
        return iob_sentences(path, scheme="biluo" if fmt == "biluo" else "auto",
                             on_error=on_error)
    raise DataError(f"{path}: cannot read sentences from format {fmt or 'unknown'}; "
                    "use .conllu or .iob/.iob2/.bio/.biluo files")
