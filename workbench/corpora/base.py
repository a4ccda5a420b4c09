"""Shared pieces of the corpus readers: problems, line reading, sentences -> doc dicts.

Every reader takes `on_error`: None raises a DataError at the first error; a
callable receives every `Problem` (errors and warnings) and the reader skips
the broken sentence or line and goes on, so a checker can collect them all.
"""
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ..errors import DataError

Span = Tuple[int, int, str]  # (start_token, end_token_exclusive, label)


@dataclass(frozen=True)
class Problem:
    """One malformed or suspicious place in a corpus file. `line` 0 means the whole file."""

    path: str
    line: int
    message: str
    severity: str = "error"  # "error" or "warning"

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message}"


OnError = Optional[Callable[[Problem], None]]

MAX_REPEATS = 20  # the same warning is kept this many times per file, then counted


class Problems(list):
    """The problems collected over files (pass `.append` as `on_error`): every error,
    and of each warning (same file, same message) the first MAX_REPEATS, then a count."""

    def __init__(self, items: Iterable[Problem] = ()):
        super().__init__()
        self.seen: Counter = Counter()  # (path, message) -> warnings of it so far
        self.first: Dict[Tuple[str, str], Problem] = {}
        for p in items:
            self.append(p)

    def append(self, problem: Problem) -> None:
        if problem.severity != "error":
            key = (problem.path, problem.message)
            self.seen[key] += 1
            self.first.setdefault(key, problem)
            if self.seen[key] > MAX_REPEATS:
                return
        super().append(problem)

    @property
    def n_suppressed(self) -> int:
        return sum(n - MAX_REPEATS for n in self.seen.values() if n > MAX_REPEATS)

    def suppressed_lines(self) -> List[str]:
        """One line per capped warning: how many more there were, and the first one."""
        return [f"{self.first[key].path}: warning: ... and {n - MAX_REPEATS:,} more of "
                f"'{key[1]}' (first at line {self.first[key].line})"
                for key, n in self.seen.items() if n > MAX_REPEATS]


class Reporter:
    """Sends problems of one file to `on_error`, or raises DataError when it is None."""

    def __init__(self, path, on_error: OnError = None):
        self.path = str(path)
        self.on_error = on_error

    def error(self, line: int, message: str) -> None:
        problem = Problem(self.path, line, message, "error")
        if self.on_error is None:
            err = DataError(f"{problem.where}: {message}")
            err.problem = problem
            raise err
        self.on_error(problem)

    def warning(self, line: int, message: str) -> None:
        if self.on_error is not None:
            self.on_error(Problem(self.path, line, message, "warning"))


_EOL = re.compile(rb"\r\n|\r|\n")


def raw_lines(f) -> Iterator[bytes]:
    """The lines of a binary file, without their ends: "\n", "\r\n" or a lone "\r"
    (old Mac files) all end a line. Read 1 MiB at a time."""
    pending = b""
    while True:
        block = f.read(1 << 20)
        if not block:
            break
        data = pending + block
        held = b"\r" if data.endswith(b"\r") else b""  # maybe the first half of "\r\n"
        parts = _EOL.split(data[: len(data) - len(held)])
        pending = parts.pop() + held
        yield from parts
    if pending:
        parts = _EOL.split(pending)
        yield from (parts[:-1] if parts[-1] == b"" else parts)


def read_lines(path, report: Reporter) -> Iterator[Tuple[int, str]]:
    """Yield (line_number, text without newline), decoding UTF-8 line by line."""
    with open(path, "rb") as f:
        for n, raw in enumerate(raw_lines(f), 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                report.error(n, f"not valid UTF-8 ({e.reason} at byte {e.start}); "
                                "re-save the file as UTF-8")
                line = raw.decode("utf-8", errors="replace")  # read on, marked with U+FFFD
            if n == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield n, line.rstrip("\r\n")


@dataclass
class Sentence:
    """One sentence as read from a file, with where it came from."""

    words: List[str]
    spaces: List[bool]
    tags: Optional[List[Optional[str]]] = None  # None: the format has no such column
    pos: Optional[List[Optional[str]]] = None
    ents: Optional[List[Span]] = None  # None: not annotated; [] annotated, no entities
    sent_id: Optional[str] = None
    text: Optional[str] = None
    line: int = 0  # first line of the sentence (its first comment or token)
    word_lines: List[int] = field(default_factory=list)
    heads: Optional[List[Optional[int]]] = None  # sentence-local word index; a root is its own head
    deps: Optional[List[Optional[str]]] = None
    cats: Optional[Dict[str, float]] = None


def heads_problem(heads: List[Optional[int]], one_based: bool = True) -> Optional[Tuple[int, str]]:
    """(word index, message) for the first out-of-range head or cycle, else None.

    heads: 0-based indices, a root being its own head, None unknown. Messages
    number words from 1 (CoNLL-U ids) when `one_based`, else from 0 (JSONL).
    """
    n = len(heads)
    k0 = 1 if one_based else 0
    for i, h in enumerate(heads):
        if h is not None and (isinstance(h, bool) or not isinstance(h, int) or not 0 <= h < n):
            allowed = f"1..{n}, or 0 for the root" if one_based else f"0..{n - 1}; a root is its own head"
            shown = h + 1 if one_based and isinstance(h, int) else h
            return i, f"head {shown!r} of word {i + k0} is not a word of its {'sentence' if one_based else 'doc'} ({allowed})"
    state = [0] * n  # 0 unseen, 1 on the current path, 2 reaches a root
    for i in range(n):
        path = []
        j = i
        while j is not None and state[j] == 0 and heads[j] != j:
            state[j] = 1
            path.append(j)
            j = heads[j]
        if j is not None and state[j] == 1:
            cycle = path[path.index(j):]
            words = " -> ".join(str(k + k0) for k in cycle + [j])
            return j, f"the heads form a cycle ({words}); every word must lead to the root"
        for k in path:
            state[k] = 2
        if j is not None:
            state[j] = 2
    return None


def doc_text(words: List[str], spaces: List[bool]) -> str:
    return "".join(w + " " if s else w for w, s in zip(words, spaces))


def spaces_from_text(forms: List[str], text: str) -> Optional[List[bool]]:
    """Spacing after each form as found in `text`; None if the forms don't match it."""
    spaces = []
    i, n = 0, len(text)
    while i < n and text[i].isspace():
        i += 1
    for form in forms:
        if text.startswith(form, i):
            i += len(form)
        else:
            return None
        j = i
        while j < n and text[j].isspace():
            j += 1
        spaces.append(j > i)
        i = j
    return spaces if i == n else None


def first_mismatch(forms: List[str], text: str) -> int:
    """Index of the first form that does not continue `text` (len(forms) if all do)."""
    i = 0
    for k, form in enumerate(forms):
        while i < len(text) and text[i].isspace():
            i += 1
        if not text.startswith(form, i):
            return k
        i += len(form)
    return len(forms)


def group_sentences(sents: Iterable[Sentence], n_sents: int = 1) -> Iterator[dict]:
    """Join every `n_sents` sentences into one annotated doc dict."""
    if n_sents < 1:
        raise DataError(f"n_sents must be 1 or more, got {n_sents}")
    batch: List[Sentence] = []
    for sent in sents:
        batch.append(sent)
        if len(batch) == n_sents:
            yield sentences_to_doc(batch)
            batch = []
    if batch:
        yield sentences_to_doc(batch)


def sentences_to_doc(sents: List[Sentence]) -> dict:
    """Doc dict with keys words, spaces, [tags, pos], sent_starts, [ents]."""
    words: List[str] = []
    spaces: List[bool] = []
    sent_starts: List[bool] = []
    has_tags = any(s.tags is not None for s in sents)
    has_pos = any(s.pos is not None for s in sents)
    has_ents = any(s.ents is not None for s in sents)
    has_heads = any(s.heads is not None for s in sents)
    heads: list = []
    deps: list = []
    tags: list = []
    pos: list = []
    ents: List[list] = []
    for s in sents:
        offset = len(words)
        n = len(s.words)
        words.extend(s.words)
        spaces.extend(s.spaces)
        sent_starts.extend([True] + [False] * (n - 1) if n else [])
        if has_tags:
            tags.extend(s.tags if s.tags is not None else [None] * n)
        if has_pos:
            pos.extend(s.pos if s.pos is not None else [None] * n)
        for start, end, label in s.ents or ():
            ents.append([start + offset, end + offset, label])
        if has_heads:
            heads.extend([None if h is None else h + offset for h in s.heads] if s.heads else [None] * n)
            deps.extend(s.deps if s.deps else [None] * n)
    if spaces:
        spaces[-1] = False  # nothing follows the end of the doc
    doc = {"text": doc_text(words, spaces), "words": words, "spaces": spaces}
    if has_tags:
        doc["tags"] = tags
    if has_pos:
        doc["pos"] = pos
    doc["sent_starts"] = sent_starts
    if has_ents:
        doc["ents"] = ents
    if has_heads:
        doc["heads"], doc["deps"] = heads, deps
    cats = [s.cats for s in sents if s.cats]
    if cats:  # a doc of several sentences: each label the highest of its sentences
        doc["cats"] = {label: max(c.get(label, 0.0) for c in cats) for label in cats[0]}
    return doc
