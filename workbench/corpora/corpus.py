"""Corpus readers: format detection, `read_docs`, and the `Corpus` / `JsonlCorpus` callables.

Readers stream: each yields one annotated doc dict (keys text, words, spaces,
tags, pos, sent_starts, ents; see `Doc.to_json`) at a time.
"""
import random
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, List, Optional

from ..errors import DataError
from ..text.doc import Doc
from ..training.example import Example
from .base import OnError, Problem
from .conllu import read_conllu
from .detect import FORMATS, SUFFIXES, corpus_files, detect_corpus_format, read_docs
from .iob import read_iob
from .jsonl import read_jsonl_docs, read_texts

__all__ = [
    "Corpus", "FORMATS", "JsonlCorpus", "OnError", "Problem", "SUFFIXES", "corpus_files",
    "detect_corpus_format", "read_conllu", "read_docs", "read_iob", "read_jsonl_docs", "read_texts",
    "slice_doc_dict", "split_doc_dict",
]


def split_doc_dict(doc: dict, max_length: int) -> List[dict]:
    """Cut a doc longer than `max_length` words at sentence starts (never inside an entity).

    Greedily packs sentences into pieces of at most `max_length` words; a sentence
    longer than that, or a long doc without sentence starts, is dropped.
    """
    n = len(doc["words"])
    if not max_length or n <= max_length:
        return [doc]
    starts = doc.get("sent_starts") or []
    inside = {i for s, e, _ in doc.get("ents") or () for i in range(s + 1, e)}
    cuts = [i for i, s in enumerate(starts) if s and i not in inside and i > 0] + [n]
    pieces, begin, prev = [], 0, 0
    for cut in cuts:
        if cut - begin > max_length:
            if prev > begin:
                pieces.append((begin, prev))
            begin = prev
            if cut - begin > max_length:  # one sentence alone is too long: drop it
                begin = cut
        prev = cut
    if n > begin:
        pieces.append((begin, n))
    return [slice_doc_dict(doc, a, b) for a, b in pieces]


def slice_doc_dict(doc: dict, start: int, end: int) -> dict:
    """The words start:end of a doc dict, with entities inside that range re-offset."""
    out = {k: doc[k][start:end] for k in ("words", "spaces", "tags", "pos", "sent_starts", "deps")
           if doc.get(k) is not None}
    if doc.get("heads") is not None:  # cuts fall between sentences, so heads stay inside
        out["heads"] = [None if h is None or not start <= h < end else h - start
                        for h in doc["heads"][start:end]]
    if doc.get("cats"):
        out["cats"] = dict(doc["cats"])
    if "sent_starts" in out and out["sent_starts"]:
        out["sent_starts"][0] = True
    if doc.get("ents") is not None:
        out["ents"] = [[s - start, e - start, label] for s, e, label in doc["ents"]
                       if s >= start and e <= end]
    return out


class Corpus:
    """Gold corpus for training: `corpus(nlp)` yields Examples, one per doc.

    path: a .conllu, .iob/.iob2/.bio, .biluo or annotated .jsonl file, or a directory
    of them (all, sorted). limit: stop after this many examples (0: all). max_length:
    cut longer docs at sentence starts (0: no limit). shuffle: shuffle the docs (holds
    them in memory). n_sents: sentences per doc for CoNLL-U/IOB. gold_preproc: accepted
    for spaCy configs; the predicted docs always use the gold words. augmenter: a
    callable (nlp, example) -> iterable of examples.
    """

    def __init__(self, path, *, limit: int = 0, max_length: int = 0, shuffle: bool = False,
                 n_sents: int = 1, gold_preproc: bool = False,
                 augmenter: Optional[Callable] = None):
        self.path = None if path is None else Path(path)
        self.limit, self.max_length, self.shuffle = limit, max_length, shuffle
        self.n_sents, self.gold_preproc, self.augmenter = n_sents, gold_preproc, augmenter

    def doc_dicts(self) -> Iterator[dict]:
        """The annotated doc dicts, after max_length cutting and limit."""
        count = 0
        for path in corpus_files(_require(self.path, "Corpus")):
            for doc in read_docs(path, n_sents=self.n_sents):
                for piece in split_doc_dict(doc, self.max_length):
                    yield piece
                    count += 1
                    if self.limit and count >= self.limit:
                        return

    def __call__(self, nlp) -> Iterator[Example]:
        dicts: Iterable[dict] = self.doc_dicts()
        if self.shuffle:
            dicts = list(dicts)
            random.shuffle(dicts)
        for data in dicts:
            eg = Example.from_gold(nlp.vocab, Doc.from_json(nlp.vocab, data))
            if self.augmenter is None:
                yield eg
            else:
                yield from self.augmenter(nlp, eg)


class JsonlCorpus:
    """Raw text for pretraining: `corpus(nlp)` yields one Example per `{"text": ...}` line.

    Texts are tokenized with `nlp.make_doc`; a doc longer than `max_length` tokens is
    split into pieces of at most `max_length` (cut after a sentence end where there is
    one); docs or pieces shorter than `min_length` are skipped (0: no bound); `limit`
    caps the count (0: all). `counts` tells what was read, split and skipped.
    """

    def __init__(self, path, *, limit: int = 0, min_length: int = 0, max_length: int = 0):
        self.path = None if path is None else Path(path)
        self.limit, self.min_length, self.max_length = limit, min_length, max_length
        self.counts = {"texts": 0, "split": 0, "too_short": 0, "longest": 0}

    def texts(self) -> Iterator[str]:
        for path in corpus_files(_require(self.path, "JsonlCorpus"), (".jsonl",)):
            yield from read_texts(path)

    def __call__(self, nlp) -> Iterator[Example]:
        count = 0
        self.counts = dict.fromkeys(self.counts, 0)
        for text in self.texts():
            doc = nlp.make_doc(text)
            self.counts["texts"] += 1
            self.counts["longest"] = max(self.counts["longest"], len(doc))
            pieces = split_tokens(doc, self.max_length)
            self.counts["split"] += len(pieces) > 1
            for piece in pieces:
                if self.min_length and len(piece) < self.min_length:
                    self.counts["too_short"] += 1
                    continue
                yield Example.from_gold(nlp.vocab, piece)
                count += 1
                if self.limit and count >= self.limit:
                    return

    def describe_empty(self) -> str:
        """Why no doc came out (for the error a user sees)."""
        c = self.counts
        if not c["texts"]:
            return "has no texts"
        return (f"has {c['texts']:,} texts but every doc (or piece of at most max_length = {self.max_length} "
                f"tokens) is shorter than min_length = {self.min_length} tokens (longest text: "
                f"{c['longest']:,} tokens): lower min_length in the corpus block")


SENTENCE_ENDS = {".", "!", "?", "...", "。", "!", "?"}


def split_tokens(doc: Any, max_length: int) -> List[Any]:
    """`doc`, or pieces of at most `max_length` tokens, each cut after the last sentence
    end (. ! ?) in its window, or at the window's end when it holds none."""
    n = len(doc)
    if not max_length or n <= max_length:
        return [doc]
    pieces, begin = [], 0
    while begin < n:
        end = min(begin + max_length, n)
        if end < n:
            ends = [i + 1 for i in range(begin, end) if doc[i].text in SENTENCE_ENDS]
            end = ends[-1] if ends and ends[-1] > begin + max_length // 2 else end
        pieces.append(doc[begin:end].as_doc())
        begin = end
    return pieces


def _require(path: Optional[Path], what: str) -> Path:
    if path is None:
        raise DataError(f"{what}: no path set; set it in the config (e.g. [paths] train = "
                        "\"corpus/train.conllu\") or pass --paths.train on the command line")
    return path
