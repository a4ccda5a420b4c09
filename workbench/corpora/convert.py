"""Convert CoNLL-U and IOB/BILUO files to annotated JSONL, optionally merging a pair.

`merge=True` takes one CoNLL-U file (words, spacing, tags, pos, sentences) and one
IOB file with entities over the same sentences, paired by `# sent_id` (or by
order when ids are absent). Sentences whose words differ but spell the same
characters (`#audiobooks` vs `#` `audiobooks`) keep the CoNLL-U words, get the
entities mapped by character offsets, and are reported as warnings.
"""
import itertools
import json
import os
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Union

from ..errors import ConfigError, DataError
from .base import OnError, Problem, Problems, Reporter, Sentence, group_sentences
from .detect import detect_corpus_format, sentences_of

Paths = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]]
MAX_SHOWN = 20


def convert(input_paths: Paths, output_path, *, n_sents: int = 1, merge: bool = False,
            cats_from_sent_id: bool = False) -> dict:
    """Write annotated JSONL (one doc per line) to `output_path`; return a summary dict.

    cats_from_sent_id: give each doc `cats` from its sentences' `# sent_id`: the part
    before the first "-" is the category (UD EWT: answers, email, newsgroup, reviews,
    weblog), one-hot over the categories found in all the inputs.

    Summary keys: inputs, output, docs, sentences, words, entities, warnings (list of
    "file:line: warning: message" strings), seconds. Errors are collected over all the
    input; if there are any, one DataError lists them and no output file is written.
    """
    start = time.perf_counter()
    inputs = _as_list(input_paths)
    problems = Problems()
    streams = ([merged_sentences(*merge_pair(inputs), on_error=problems.append)] if merge
               else [sentences_of(path, on_error=problems.append) for path in inputs])
    if cats_from_sent_id:
        streams = [cats_from_ids(itertools.chain(*streams), problems.append)]
    stats = {"docs": 0, "sentences": 0, "words": 0, "entities": 0}
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(output_path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            for sents in streams:  # docs never span two files
                for doc in group_sentences(_counted(sents, stats), n_sents):
                    out.write(json.dumps(doc, ensure_ascii=False) + "\n")
                    stats["docs"] += 1
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            shown = "\n".join(f"  {p.where}: {p.message}" for p in errors[:MAX_SHOWN])
            more = f"\n  ... and {len(errors) - MAX_SHOWN} more" if len(errors) > MAX_SHOWN else ""
            raise DataError(f"convert: {len(errors)} error(s), nothing written to "
                            f"{output_path}:\n{shown}{more}")
        os.replace(tmp, output_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    warnings = [str(p) for p in problems if p.severity != "error"] + problems.suppressed_lines()
    return {"inputs": [str(p) for p in inputs], "output": str(output_path), **stats,
            "warnings": warnings, "seconds": round(time.perf_counter() - start, 3)}


def cats_from_ids(sents: Iterator[Sentence], on_error) -> Iterator[Sentence]:
    """The sentences with one-hot `cats` from their sent_id prefix (reads them all first)."""
    sents = list(sents)
    genres = []
    for sent in sents:
        genre = (sent.sent_id or "").split("-", 1)[0].strip()
        if not genre:
            on_error(Problem(getattr(sent, "path", "") or "input", sent.line,
                             "sentence has no '# sent_id' to take its category from "
                             "(cats_from_sent_id needs one on every sentence)"))
        genres.append(genre)
    labels = sorted({g for g in genres if g})
    for sent, genre in zip(sents, genres):
        if genre:
            sent.cats = {label: float(label == genre) for label in labels}
            yield sent


def format_convert_report(summary: dict) -> str:
    """Human-readable lines for a `convert` summary."""
    lines = [f"Converted {', '.join(summary['inputs'])} -> {summary['output']}",
             f"  {summary['docs']} docs, {summary['sentences']} sentences, "
             f"{summary['words']} words, {summary['entities']} entities "
             f"in {summary['seconds']:.2f}s"]
    if summary["warnings"]:
        lines.append(f"  {len(summary['warnings'])} warning(s):")
        lines.extend(f"    {w}" for w in summary["warnings"])
    return "\n".join(lines)


def _as_list(paths: Paths) -> List[Path]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise ConfigError("convert: give at least one input file")
    return [Path(p) for p in items]


def _counted(sents: Iterator[Sentence], stats: dict) -> Iterator[Sentence]:
    for sent in sents:
        stats["sentences"] += 1
        stats["words"] += len(sent.words)
        stats["entities"] += len(sent.ents or ())
        yield sent


def merge_pair(inputs: List[Path]):
    """(conllu_path, iob_path, iob_format) from two inputs; ConfigError otherwise."""
    fmts = [detect_corpus_format(p) for p in inputs]
    if len(inputs) != 2 or sorted(f in ("iob", "biluo") for f in fmts) != [False, True] \
            or "conllu" not in fmts:
        got = ", ".join(f"{p} ({f or 'unknown'})" for p, f in zip(inputs, fmts))
        raise ConfigError(f"merge needs one CoNLL-U file and one IOB/BILUO file; got {got}")
    conllu = inputs[fmts.index("conllu")]
    other = 1 - fmts.index("conllu")
    return conllu, inputs[other], fmts[other]


def merged_sentences(conllu_path, iob_path, iob_format: str = "iob", *,
                     on_error: OnError = None) -> Iterator[Sentence]:
    """CoNLL-U sentences with the entities of the matching IOB sentences.

    Pairs by `# sent_id` when both files have them (any order; IOB sentences met
    early are buffered), otherwise by position. Missing or extra sentences and
    words that cannot be aligned are errors; differing tokenization is a warning.
    """
    report = Reporter(conllu_path, on_error)
    iob = _IobLookup(sentences_of(iob_path, iob_format, on_error), str(iob_path))
    for sent in sentences_of(conllu_path, "conllu", on_error):
        other = iob.find(sent.sent_id)
        if other is None:
            report.error(sent.line, f"sentence {sent.sent_id or '(no sent_id)'} has no "
                                    f"matching sentence in {iob_path}")
            continue
        ents = align_entities(sent, other, report, str(iob_path))
        if ents is not None:
            sent.ents = ents
            yield sent
    for other in iob.rest():
        Reporter(iob_path, on_error).error(
            other.line, f"sentence {other.sent_id or '(no sent_id)'} has no matching "
                        f"sentence in {conllu_path}")


class _IobLookup:
    """Finds the IOB sentence for a sent_id, reading ahead and buffering as needed."""

    def __init__(self, sents: Iterator[Sentence], path: str):
        self.sents, self.path = sents, path
        self.buffer: Dict[str, Sentence] = {}

    def find(self, sent_id: Optional[str]) -> Optional[Sentence]:
        if sent_id is None:  # pair by position
            return next(self.sents, None)
        if sent_id in self.buffer:
            return self.buffer.pop(sent_id)
        for sent in self.sents:
            if sent.sent_id == sent_id:
                return sent
            self.buffer[sent.sent_id or f"(no sent_id, line {sent.line})"] = sent
        return None

    def rest(self) -> Iterator[Sentence]:
        yield from self.buffer.values()
        yield from self.sents


def align_entities(sent: Sentence, other: Sentence, report: Reporter,
                   other_path: str) -> Optional[List[tuple]]:
    """`other.ents` as spans over `sent.words`; None after reporting a misalignment."""
    where = f"sentence {sent.sent_id or '(no sent_id)'} ({other_path}:{other.line})"
    if sent.words == other.words:
        return list(other.ents or ())
    if "".join(sent.words) != "".join(other.words):
        k = next((i for i, (a, b) in enumerate(zip(sent.words, other.words)) if a != b),
                 min(len(sent.words), len(other.words)))
        a = sent.words[k] if k < len(sent.words) else "(end)"
        b = other.words[k] if k < len(other.words) else "(end)"
        line_b = other.word_lines[k] if k < len(other.word_lines) else other.line
        line_a = sent.word_lines[k] if k < len(sent.word_lines) else sent.line
        report.error(line_a, f"{where}: words differ at word {k + 1}: {a!r} here, {b!r} at "
                             f"{other_path}:{line_b}; fix one file so both hold the same words")
        return None
    starts, ends = _char_offsets(sent.words)
    o_starts, o_ends = _char_offsets(other.words)
    start_tok = {c: i for i, c in enumerate(starts)}
    end_tok = {c: i + 1 for i, c in enumerate(ends)}
    ents, ok = [], True
    for s, e, label in other.ents or ():
        a, b = start_tok.get(o_starts[s]), end_tok.get(o_ends[e - 1])
        if a is None or b is None:
            Reporter(other_path, report.on_error).error(
                other.word_lines[s], f"sentence {sent.sent_id or '(no sent_id)'}: {label} entity "
                         f"{' '.join(other.words[s:e])!r} does not start and end on "
                         "CoNLL-U word boundaries; retokenize or drop it")
            ok = False
        else:
            ents.append((a, b, label))
    report.warning(sent.line, f"{where}: tokenization differs ({len(sent.words)} CoNLL-U "
                              f"words, {len(other.words)} IOB words); CoNLL-U words kept, "
                              "entities aligned by characters")
    return ents if ok else None


def _char_offsets(words: List[str]):
    starts, ends, pos = [], [], 0
    for w in words:
        starts.append(pos)
        pos += len(w)
        ends.append(pos)
    return starts, ends
