"""JSONL readers: raw text (`{"text": ...}` per line) and annotated docs (Doc.to_json per line)."""
import json
from typing import Iterator, Optional, Tuple

from .base import OnError, Reporter, doc_text, heads_problem, read_lines

_OK = object()

LIST_KEYS = {"spaces": (bool,), "tags": (str, type(None)), "pos": (str, type(None)),
             "sent_starts": (bool, type(None)), "heads": (int, type(None)), "deps": (str, type(None))}


def read_texts(path, *, on_error: OnError = None) -> Iterator[str]:
    """Yield the "text" of each line of a raw-text JSONL file."""
    report = Reporter(path, on_error)
    for n, line in read_lines(path, report):
        obj = _parse_line(n, line, report)
        if obj is None:
            continue
        text = obj.get("text")
        if "text" not in obj:
            keys = ", ".join(sorted(obj)) or "none"
            report.error(n, f'no "text" key (keys: {keys}); write {{"text": "..."}}'
                            + ("; annotated docs belong in a Corpus, not raw text"
                               if "words" in obj else ""))
        elif not isinstance(text, str):
            report.error(n, f'"text" must be a string, got {type(text).__name__}')
        else:
            if not text.strip():
                report.warning(n, '"text" is empty; the line gives a doc with no words')
            yield text


def read_jsonl_docs(path, *, on_error: OnError = None) -> Iterator[dict]:
    """Yield each checked annotated doc dict of a JSONL file (Doc.to_json per line)."""
    return (doc for _, doc in jsonl_docs_with_lines(path, on_error=on_error))


def jsonl_docs_with_lines(path, *, on_error: OnError = None) -> Iterator[Tuple[int, dict]]:
    """Like `read_jsonl_docs`, yielding (line_number, doc dict)."""
    report = Reporter(path, on_error)
    for n, line in read_lines(path, report):
        obj = _parse_line(n, line, report)
        if obj is not None:
            problem = check_doc_dict(obj)
            if problem:
                report.error(n, problem)
            else:
                if not obj["words"]:
                    report.warning(n, "doc has no words")
                yield n, obj


def _parse_line(n: int, line: str, report: Reporter) -> Optional[dict]:
    if not line.strip():
        report.error(n, "empty line; every line must hold one JSON object (remove it)")
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        report.error(n, f"invalid JSON ({e.msg} at column {e.colno}); each line must be "
                        "one complete JSON object")
        return None
    if not isinstance(obj, dict):
        report.error(n, f"expected a JSON object {{...}}, got {type(obj).__name__}")
        return None
    return obj


def check_doc_dict(obj: dict) -> Optional[str]:
    """What is wrong with an annotated doc dict, or None if it is well-formed."""
    words = obj.get("words")
    if "words" not in obj:
        hint = (" (this looks like raw text: use it for pretraining, or tokenize and "
                "annotate it first)" if "text" in obj else "")
        return f'no "words" key{hint}'
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        return '"words" must be a list of non-empty strings'
    n = len(words)
    for key, types in LIST_KEYS.items():
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or len(value) != n:
            got = len(value) if isinstance(value, list) else type(value).__name__
            return f'"{key}" must be a list with one value per word ({n}), got {got}'
        bad = next((v for v in value if not isinstance(v, types)), _OK)
        if bad is not _OK:
            allowed = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            return f'"{key}" holds {bad!r}; its values must be {allowed}'
    spaces = obj.get("spaces")
    if spaces is not None and "text" in obj and obj["text"] != doc_text(words, spaces):
        return '"text" differs from the words joined with their spaces'
    if obj.get("heads") is not None:
        problem = heads_problem(obj["heads"], one_based=False)
        if problem is not None:
            return f'"heads": {problem[1]}'
    cats = obj.get("cats")
    if cats is not None and (not isinstance(cats, dict) or not all(
            isinstance(k, str) and k and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in cats.items())):
        return '"cats" must be an object of label -> number, e.g. {"POSITIVE": 1.0, "NEGATIVE": 0.0}'
    return _check_ents(obj.get("ents"), n)


def _check_ents(ents, n: int) -> Optional[str]:
    if ents is None:
        return None
    if not isinstance(ents, list):
        return '"ents" must be a list of [start, end, label]'
    end_prev = 0
    def first(e):
        return e[0] if isinstance(e, list) and e and isinstance(e[0], int) else -1

    for ent in sorted(ents, key=first):
        if not (isinstance(ent, list) and len(ent) == 3 and isinstance(ent[0], int)
                and isinstance(ent[1], int) and isinstance(ent[2], str) and ent[2]):
            return f'entity {ent!r} must be [start_token, end_token, "LABEL"]'
        if not 0 <= ent[0] < ent[1] <= n:
            return f"entity {ent!r} is outside the doc's {n} words (needs 0 <= start < end <= {n})"
        if ent[0] < end_prev:
            return f"entity {ent!r} overlaps the entity before it"
        end_prev = ent[1]
    return None
