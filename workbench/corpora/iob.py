"""IOB / IOB2 / BILUO readers: column files and one-sentence-per-line `word|tag` files.

Column layouts, detected from the first token line and then enforced:
  `index word tag ...`  (first column an integer, e.g. Universal NER)
  `word ... tag`        (tag in the last column, e.g. `word tag` or CoNLL-2003)
Comments start with `#` (`# sent_id =` and `# text =` are kept); a blank line ends
a sentence; `-DOCSTART-` lines are skipped. IOB1 and IOB2 are both accepted;
sentences holding L-/U- (or E-/S-) tags are checked strictly as BILUO.
"""
from typing import Iterator, List, Optional, Tuple

from .base import (
    OnError,
    Reporter,
    Sentence,
    Span,
    group_sentences,
    read_lines,
    spaces_from_text,
)

PREFIXES = {"B": "B", "I": "I", "L": "L", "U": "U", "E": "L", "S": "U"}  # BIOES -> BILUO


def read_iob(path, *, n_sents: int = 1, scheme: Optional[str] = None,
             on_error: OnError = None) -> Iterator[dict]:
    """Yield one annotated doc dict (words, spaces, sent_starts, ents) per `n_sents` sentences."""
    return group_sentences(iob_sentences(path, scheme=scheme, on_error=on_error), n_sents)


def iob_sentences(path, *, scheme: Optional[str] = None,
                  on_error: OnError = None) -> Iterator[Sentence]:
    """Yield the well-formed sentences of an IOB/BILUO file, streaming.

    scheme: "auto" (IOB1/IOB2 until a sentence holds L-/U-, strict BILUO from there
    on), "biluo" (always strict) or None (strict for a .biluo file, else auto).
    """
    if scheme is None:
        scheme = "biluo" if str(path).lower().endswith(".biluo") else "auto"
    if scheme not in ("auto", "biluo"):
        raise ValueError(f"scheme must be 'auto' or 'biluo', got {scheme!r}")
    scheme = _Scheme(scheme, iob2=str(path).lower().endswith((".iob2", ".bio")))
    report = Reporter(path, on_error)
    layout: Optional[_Layout] = None
    rows: List[Tuple[int, str, str]] = []  # (line, word, tag)
    meta = _new_meta()
    for n, line in read_lines(path, report):
        if not line.strip():
            sent = _finish(rows, meta, scheme, report)
            if sent is not None:
                yield sent
            rows, meta = [], _new_meta()
        elif line.startswith("#") and (layout is None or not layout.is_token(line)):
            _comment(n, line, rows, meta, report)
        else:
            layout = layout or _Layout.detect(line)
            if layout.pipes:
                yield from _pipe_sentences(n, line, scheme, report)
                continue
            meta["first"] = meta["first"] or n
            row = layout.parse(n, line, len(rows), report)
            if row is None:
                meta["broken"] = True
            elif row[1] != "-DOCSTART-":
                rows.append(row)
                meta["typeless"] = meta["typeless"] or _is_typeless(row[2])
    sent = _finish(rows, meta, scheme, report)
    if sent is not None:
        yield sent


def _new_meta() -> dict:
    return {"first": 0, "sent_id": None, "text": None, "broken": False, "typeless": False}


def _comment(n: int, line: str, rows: list, meta: dict, report: Reporter) -> None:
    """Keep `# sent_id =` and `# text =` of the coming sentence."""
    if rows:
        report.warning(n, "comment inside a sentence is ignored; put comments before "
                          "the sentence's first token line")
        return
    key, eq, value = line[1:].partition("=")
    if eq and key.strip() in ("sent_id", "text"):
        meta[key.strip()] = value.strip()
    meta["first"] = meta["first"] or n


def _finish(rows, meta, scheme, report) -> Optional[Sentence]:
    """The sentence of `rows`; None when a line was broken. A tag with no type was reported
    already: the rest of its sentence is still checked (its type matching any), then dropped."""
    if not rows or meta["broken"]:
        return None
    sent = _make_sentence(rows, meta, scheme, report)
    return None if meta["typeless"] else sent


class _Layout:
    """Where word and tag sit in a line, learned from the first token line."""

    def __init__(self, pipes: bool, n_cols: int, indexed: bool, tabs: bool):
        self.pipes, self.n_cols, self.indexed, self.tabs = pipes, n_cols, indexed, tabs

    @classmethod
    def detect(cls, line: str) -> "_Layout":
        tabs = "\t" in line
        cols = line.split("\t") if tabs else line.split()
        if not tabs and len(cols) > 1 and all("|" in c for c in cols):
            return cls(True, 0, False, False)
        indexed = len(cols) >= 3 and cols[0].isdigit()
        return cls(False, len(cols), indexed, tabs)

    def split(self, line: str) -> List[str]:
        return line.split("\t") if self.tabs else line.split()

    def is_token(self, line: str) -> bool:
        cols = self.split(line)
        return not self.pipes and len(cols) == self.n_cols and _valid_tag(self.tag_of(cols))

    def tag_of(self, cols: List[str]) -> str:
        return cols[2] if self.indexed else cols[-1]

    def parse(self, n: int, line: str, i: int, report: Reporter):
        """(line, word, tag) or None after reporting what is wrong."""
        cols = self.split(line)
        if len(cols) != self.n_cols or self.n_cols < 2:
            sep = "tab" if self.tabs else "whitespace"
            report.error(n, f"expected {self.n_cols} {sep}-separated columns like the "
                            f"file's first token line, found {len(cols)}")
            return None
        if self.indexed and cols[0] != str(i + 1):
            what = "is not an integer" if not cols[0].isdigit() else "is out of order"
            report.error(n, f"token index '{cols[0]}' {what}: expected {i + 1}")
            return None
        word, tag = (cols[1] if self.indexed else cols[0]), self.tag_of(cols)
        if not word:
            report.error(n, "empty word column")
            return None
        if _is_typeless(tag):
            report.error(n, f"entity tag '{tag}' has no type: write it with a label, e.g. {tag}PER")
            return (n, word, tag)
        if not _valid_tag(tag):
            report.error(n, _bad_tag_message(tag))
            return None
        return (n, word, tag)


def _is_typeless(tag: str) -> bool:
    """"B-", "I-", ...: a prefix with no label."""
    return len(tag) == 2 and tag[1] == "-" and tag[0] in PREFIXES


def _valid_tag(tag: str) -> bool:
    return tag == "O" or (len(tag) > 2 and tag[1] == "-" and tag[0] in PREFIXES)


def _bad_tag_message(tag: str) -> str:
    return (f"invalid entity tag '{tag}': use O, or B-, I-, L-, U- (or E-, S-) followed "
            "by a label, e.g. B-PER")


def _pipe_sentences(n, line, scheme, report) -> Iterator[Sentence]:
    """One `word|tag` (or `word|tag2|tag`) sentence per line."""
    rows, tags = [], []
    for item in line.split():
        parts = item.rsplit("|", 2)
        if len(parts) < 2 or not parts[0] or not _valid_tag(parts[-1]):
            report.error(n, f"token '{item}' (token {len(rows) + 1}) must be word|TAG "
                            "with an entity tag like O or B-PER")
            return
        rows.append((n, parts[0], parts[-1]))
        tags.append(parts[1] if len(parts) == 3 else None)
    sent = _make_sentence(rows, {"first": n, "sent_id": None, "text": None}, scheme, report)
    if sent is not None:
        if any(t is not None for t in tags):
            sent.tags = tags
        yield sent


class _Scheme:
    """The tagging scheme of one file; "auto" turns "biluo" at the first L-/U- tag."""

    def __init__(self, name: str, iob2: bool = False):
        self.name = name
        self.iob2 = iob2  # B- at every entity start: an I- after O is a slip

    def of(self, tags: List[str]) -> str:
        if self.name == "auto" and any(t[0] in "LUES" for t in tags if t != "O"):
            self.name = "biluo"
        if not self.iob2:  # IOB1 uses B- only right after an entity of the same type
            self.iob2 = any(t[0] == "B" and (i == 0 or tags[i - 1] == "O") for i, t in enumerate(tags))
        return self.name


def _make_sentence(rows, meta, scheme: _Scheme, report) -> Optional[Sentence]:
    words = [w for _, w, _ in rows]
    tags = [t for _, _, t in rows]
    ents = tags_to_spans(tags, [n for n, _, _ in rows], scheme.of(tags), report, iob2=scheme.iob2)
    if ents is None:
        return None
    spaces = [True] * len(words)
    text = meta["text"]
    if text is not None:
        found = spaces_from_text(words, text)
        if found is not None:
            spaces = found
    return Sentence(words, spaces, None, None, ents, meta["sent_id"], text,
                    meta["first"] or rows[0][0], [n for n, _, _ in rows])


def tags_to_spans(tags: List[str], lines: List[int], scheme: str,
                  report: Reporter, *, iob2: bool = False) -> Optional[List[Span]]:
    """Entity spans from IOB1/IOB2/BILUO tags; None after reporting an invalid sequence.

    scheme "biluo" checks strictly; "auto" does so only if the tags hold L-/U- (E-/S-).
    iob2: warn (once per tag) about an I- that starts an entity. A tag with no type
    ("B-", reported when read) continues or is continued by any type, so one slip gives
    one problem, not a cascade.
    """
    if scheme == "biluo" or any(t[0] in "LUES" for t in tags if t != "O"):
        return _biluo_spans(tags, lines, report)
    return _iob_spans(tags, lines, report if iob2 else None)


def _iob_spans(tags: List[str], lines: Optional[List[int]] = None, report: Optional[Reporter] = None) -> List[Span]:
    """IOB1 or IOB2: an I- tag after O or another label starts a new entity (with a
    warning when `report` is given: in IOB2 every entity starts with B-)."""
    spans: List[Span] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        lab = tag[2:]
        if tag != "O" and tag[0] == "I" and start >= 0 and (lab == label or not lab or not label):
            label = label or lab
            continue
        if tag != "O" and tag[0] == "I" and lab and report is not None:
            after = "O" if i == 0 or tags[i - 1] == "O" else tags[i - 1]
            report.warning(lines[i], f"I-{lab} follows {after if i else 'the sentence start'}: in IOB2 an "
                                     f"entity starts with B-{lab}; read as the start of a {lab} entity")
        if start >= 0:
            spans.append((start, i, label))
        start, label = (-1, "") if tag == "O" else (i, lab)
    if start >= 0:
        spans.append((start, len(tags), label))
    return spans


def _biluo_spans(tags: List[str], lines: List[int], report: Reporter) -> Optional[List[Span]]:
    """Strict BILUO (E-/S- read as L-/U-): every entity is B- I-* L- or a single U-."""
    spans: List[Span] = []
    start, label, ok = -1, "", True
    wild = False  # the open entity has a tag with no type (reported when read): no follow-on errors
    for i, tag in enumerate(tags):
        prefix, lab = ("O", "") if tag == "O" else (PREFIXES[tag[0]], tag[2:])
        if start >= 0:
            if prefix in "IL" and (lab == label or wild or not lab):
                wild = wild or not lab
                label = label or lab
                if prefix == "L":
                    spans.append((start, i + 1, label))
                    start = -1
                continue
            if not wild:
                report.error(lines[i], f"{tag} follows the unfinished {label} entity begun at "
                                       f"line {lines[start]}; end that entity with L-{label}")
                ok = False
            start = -1
            if prefix in "IL":
                continue
        wild = not lab and prefix != "O"
        if prefix == "U":
            spans.append((i, i + 1, lab))
        elif prefix == "B":
            start, label = i, lab
        elif prefix != "O":
            if not wild:
                report.error(lines[i], f"{tag} continues no entity; in BILUO an entity starts "
                                       f"with B-{lab}, or is one token tagged U-{lab}")
                ok = False
            if prefix == "I":  # read on as if it were B-, so one slip is reported once
                start, label = i, lab
    if start >= 0 and wild:
        start = -1
    if start >= 0:
        report.error(lines[-1], f"the {label} entity begun at line {lines[start]} is not "
                                f"finished when the sentence ends; end it with L-{label}")
        ok = False
    return spans if ok else None
