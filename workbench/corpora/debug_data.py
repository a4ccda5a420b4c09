"""Check corpus files and count what they hold, collecting every problem instead of stopping."""
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple, Union

from .base import Problem, Problems, Sentence, sentences_to_doc
from .convert import merge_pair, merged_sentences
from .detect import SUFFIXES, detect_corpus_format, sentences_of
from .jsonl import jsonl_docs_with_lines, read_texts

Paths = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]]


@dataclass
class Report:
    """What `debug_data` found: counts over the readable docs, and all problems."""

    files: List[Tuple[str, str]] = field(default_factory=list)  # (path, format)
    docs: int = 0
    sentences: int = 0
    words: int = 0
    tags: Counter = field(default_factory=Counter)
    pos: Counter = field(default_factory=Counter)
    ents: Counter = field(default_factory=Counter)
    cats: Counter = field(default_factory=Counter)  # docs with each label positive (>= 0.5)
    cats_docs: int = 0  # docs with any cats
    multi_positive: List[Tuple[str, int]] = field(default_factory=list)  # (path, line): > 1 positive
    problems: Problems = field(default_factory=Problems)  # repeated warnings capped

    @property
    def errors(self) -> List[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> List[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def usable(self) -> bool:
        """No errors and at least one doc with words."""
        return not self.errors and self.docs > 0 and self.words > 0

    def format(self, max_problems: int = 50, max_labels: int = 20) -> str:
        """Text for printing: files, counts, the first `max_problems` problems, verdict."""
        lines = ["Files:"]
        lines += [f"  {path} ({fmt})" for path, fmt in self.files]
        lines.append(f"Docs: {self.docs}  sentences: {self.sentences}  words: {self.words}")
        for name, counts in (("Tags", self.tags), ("POS", self.pos), ("Entities", self.ents)):
            if counts:
                top = ", ".join(f"{k} {v}" for k, v in counts.most_common(max_labels))
                if len(counts) > max_labels:
                    top += f", ... ({len(counts) - max_labels} more)"
                lines.append(f"{name} ({len(counts)} labels, {sum(counts.values())}): {top}")
        if self.cats_docs:
            top = ", ".join(f"{k} {v}" for k, v in self.cats.most_common(max_labels))
            lines.append(f"Cats ({len(self.cats)} labels, {self.cats_docs} docs with cats): {top}")
        if self.multi_positive:
            path, line = self.multi_positive[0]
            lines.append(f"  {len(self.multi_positive)} doc(s) have more than one positive label (first: "
                         f"{path}:{line}): textcat_multilabel learns them, textcat refuses them")
        n_warnings = len(self.warnings) + self.problems.n_suppressed
        lines.append(f"Problems: {len(self.errors)} error(s), {n_warnings} warning(s)")
        ordered = self.errors + self.warnings
        lines += [f"  {p}" for p in ordered[:max_problems]]
        if len(ordered) > max_problems:
            lines.append(f"  ... and {len(ordered) - max_problems} more")
        lines += [f"  {line}" for line in self.problems.suppressed_lines()]
        lines.append("Usable: " + ("yes" if self.usable else "NO"))
        return "\n".join(lines)

    __str__ = format

    def to_dict(self) -> dict:
        return {"files": self.files, "docs": self.docs, "sentences": self.sentences,
                "words": self.words, "tags": dict(self.tags), "pos": dict(self.pos),
                "ents": dict(self.ents), "cats": dict(self.cats),
                "cats_docs": self.cats_docs, "usable": self.usable,
                "problems": [vars(p) for p in self.problems],
                "suppressed": self.problems.suppressed_lines()}


def debug_data(paths: Paths, *, n_sents: int = 1, merge: bool = False) -> Report:
    """Validate corpus files (CoNLL-U, IOB/BILUO, raw-text or annotated JSONL; directories
    are searched) and count docs, sentences, words, tags, POS, entity and cats labels.

    n_sents: sentences per doc for CoNLL-U/IOB (only changes the doc count).
    merge=True checks one CoNLL-U + one IOB file as a pair, as `convert(merge=True)` does.
    """
    report = Report()
    files = _expand(paths, report)
    if merge:
        try:
            conllu, iob, iob_fmt = merge_pair(files)
        except ValueError as e:
            report.problems.append(Problem(", ".join(map(str, files)), 0, str(e)))
            return report
        report.files = [(str(conllu), "conllu"), (str(iob), iob_fmt)]
        sents = merged_sentences(conllu, iob, iob_fmt, on_error=report.problems.append)
        _count_sentences(report, sents, str(conllu), n_sents)
        return report
    for path in files:
        _check_file(report, path, n_sents)
    return report


def _expand(paths: Paths, report: Report) -> List[Path]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files: List[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*")
                           if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                report.problems.append(Problem(str(item), 0, "directory holds no corpus files "
                                                             f"({', '.join(SUFFIXES)})"))
            files.extend(found)
        elif item.is_file():
            files.append(item)
        else:
            report.problems.append(Problem(str(item), 0, "file not found"))
    return files


def _check_file(report: Report, path: Path, n_sents: int) -> None:
    fmt = detect_corpus_format(path)
    report.files.append((str(path), fmt or "unknown"))
    on_error = report.problems.append
    docs_before = report.docs
    if fmt is None:
        report.problems.append(Problem(str(path), 0, "unknown format: not .conllu, .iob/.iob2/"
                                       ".bio, .biluo or .jsonl, and the content is not recognised"))
        return
    if fmt == "text-jsonl":
        for text in read_texts(path, on_error=on_error):
            report.docs += 1
            report.words += len(text.split())
    elif fmt == "jsonl":
        for line, doc in jsonl_docs_with_lines(path, on_error=on_error):
            report.docs += 1
            _count_doc(report, doc, str(path), line)
    else:
        _count_sentences(report, sentences_of(path, fmt, on_error), str(path), n_sents)
    if report.docs == docs_before:
        report.problems.append(Problem(str(path), 0, "no usable docs in this file", "warning"))


def _count_sentences(report: Report, sents: Iterable[Sentence], path: str, n_sents: int) -> None:
    n = 0
    for sent in sents:
        n += 1
        _count_doc(report, sentences_to_doc([sent]), path, sent.line)
    report.docs += -(-n // max(n_sents, 1))  # ceil: sentences grouped n_sents per doc


def _count_doc(report: Report, doc: dict, path: str, line: int) -> None:
    words = doc["words"]
    report.words += len(words)
    starts = doc.get("sent_starts")
    report.sentences += sum(1 for s in starts if s) if starts else (1 if words else 0)
    report.tags.update(t for t in doc.get("tags") or () if t)
    report.pos.update(p for p in doc.get("pos") or () if p)
    cats = doc.get("cats") or {}
    if cats:
        report.cats_docs += 1
        positive = [label for label, value in cats.items() if value >= 0.5]
        report.cats.update(positive)
        if len(positive) > 1:
            report.multi_positive.append((path, line))
    for start, end, label in doc.get("ents") or ():
        report.ents[label] += 1
        text = " ".join(words[start:end])
        if starts and any(starts[start + 1:end]):
            report.problems.append(Problem(path, line, f"{label} entity {text!r} crosses a "
                                           "sentence boundary", "warning"))
        if _is_punct(words[start]) or _is_punct(words[end - 1]):
            report.problems.append(Problem(path, line, f"{label} entity {text!r} begins or "
                                           "ends with punctuation; check its boundaries",
                                           "warning"))


def _is_punct(word: str) -> bool:
    return not any(c.isalnum() for c in word)
