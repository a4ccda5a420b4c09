"""Lexemes and the vocab: one cached `Lexeme` per distinct word string."""
import json
import re
import unicodedata
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Union

import numpy

from ..damage import DamagedFileError, read_json
from ..vectors.table import Vectors
from . import lang_en
from .attrs import ATTR_NAMES
from .strings import StringStore

_N_ATTRS = len(ATTR_NAMES)


_NUM_RE = re.compile(r"[+\-±]?(?:\d+(?:[,.]\d+)*|[,.]\d+)(?:/\d+(?:[,.]\d+)*)?%?")
_URL_RE = re.compile(
    r"(?:(?:https?|ftp)://|www\.)\S+"
    r"|(?:[\w-]+\.)+(?:" + lang_en.URL_TLDS + r")(?:[/:?#]\S*)?",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")


def word_shape(text: str) -> str:
    """Map letters to X/x, digits to d, keep other chars; runs capped at 4: 'Hello' -> 'Xxxxx'."""
    out = []
    last, run = "", 0
    for ch in text:
        if ch.isalpha():
            c = "X" if ch.isupper() else "x"
        elif ch.isdigit():
            c = "d"
        else:
            c = ch
        if c == last:
            run += 1
        else:
            last, run = c, 1
        if run <= 4:
            out.append(c)
    return "".join(out)


def like_num(text: str) -> bool:
    """Digits with separators/fractions ('1,000.5', '-3', '1/2', '10%') or number words."""
    if _NUM_RE.fullmatch(text):
        return True
    return text.lower() in lang_en.NUMBER_WORDS


def _is_punct(text: str) -> bool:
    return bool(text) and all(unicodedata.category(c).startswith("P") for c in text)


def _is_currency(text: str) -> bool:
    return bool(text) and all(unicodedata.category(c) == "Sc" for c in text)


class Lexeme:
    """Context-free attributes of one word string, computed once per vocab.

    The six strings of the attribute table (and their hashes) are made when the
    lexeme is; the boolean flags (`is_alpha`, `like_num`, ...) are computed when read,
    so that a batch of new words costs only what the models' features need.
    """

    __slots__ = (
        "orth_", "lower_", "norm_", "prefix_", "suffix_", "shape_",
        "orth", "lower", "norm", "prefix", "suffix", "shape", "row",
    )

    def __init__(self, text: str, strings: StringStore, row: int):
        lower = text.lower()
        norm = lang_en.NORM_EXCEPTIONS.get(lower, lower)
        prefix, suffix, shape = text[:1], text[-3:], word_shape(text)
        self.orth_, self.lower_, self.norm_ = text, lower, norm
        self.prefix_, self.suffix_, self.shape_ = prefix, suffix, shape
        add = strings.add
        self.orth, self.lower, self.norm = add(text), add(lower), add(norm)
        self.prefix, self.suffix, self.shape = add(prefix), add(suffix), add(shape)
        self.row = row

    is_alpha = property(lambda self: self.orth_.isalpha())
    is_digit = property(lambda self: self.orth_.isdigit())
    is_lower = property(lambda self: self.orth_.islower())
    is_upper = property(lambda self: self.orth_.isupper())
    is_title = property(lambda self: self.orth_.istitle())
    is_punct = property(lambda self: _is_punct(self.orth_))
    is_space = property(lambda self: self.orth_.isspace())
    is_stop = property(lambda self: self.lower_ in lang_en.STOP_WORDS)
    like_num = property(lambda self: like_num(self.orth_))
    like_url = property(lambda self: bool(_URL_RE.fullmatch(self.orth_)))
    like_email = property(lambda self: bool(_EMAIL_RE.fullmatch(self.orth_)))
    is_currency = property(lambda self: _is_currency(self.orth_))

    @property
    def text(self) -> str:
        return self.orth_

    def attrs(self) -> tuple:
        """The table row: (ORTH, LOWER, NORM, PREFIX, SUFFIX, SHAPE) hashes."""
        return (self.orth, self.lower, self.norm, self.prefix, self.suffix, self.shape)

    def __repr__(self) -> str:
        return f"Lexeme({self.orth_!r}, row={self.row})"


class Vocab:
    """Shared string store, lexeme cache and the (n_lexemes, 6) attribute table."""

    def __init__(self, strings: Optional[Iterable[str]] = None):
        self.strings = strings if isinstance(strings, StringStore) else StringStore(strings)
        self._vectors = Vectors(strings=self.strings)
        self._rows: Dict[str, int] = {}
        self._lexemes: List[Lexeme] = []
        self._table = numpy.zeros((1024, _N_ATTRS), dtype=numpy.uint64)

    @property
    def vectors(self):
        """The static word vectors (`Vectors`; empty until set or loaded)."""
        return self._vectors

    @vectors.setter
    def vectors(self, table) -> None:
        if not isinstance(table, Vectors):
            raise TypeError(
                f"vocab.vectors must be a workbench Vectors table, got {type(table).__name__}. "
                f"Build one with `Vectors(data=matrix, keys=words)` or load one with `Vectors.load(path)`."
            )
        table.link_strings(self.strings)  # the table's words become vocab strings
        self._vectors = table

    def _add(self, text: str) -> Lexeme:
        if not isinstance(text, str):
            raise TypeError(f"Vocab keys are str (or hashes), got {type(text).__name__}: {text!r}")
        row = len(self._lexemes)
        lex = Lexeme(text, self.strings, row)
        if row >= self._table.shape[0]:
            grown = numpy.zeros((self._table.shape[0] * 2, _N_ATTRS), dtype=numpy.uint64)
            grown[:row] = self._table[:row]
            self._table = grown
        self._table[row] = lex.attrs()
        self._lexemes.append(lex)
        self._rows[text] = row
        return lex

    def __getitem__(self, key: Union[str, int]) -> Lexeme:
        """`vocab[word]` (or `vocab[orth_hash]`) -> Lexeme, created and cached on first use."""
        if not isinstance(key, str):
            key = self.strings[key]
        row = self._rows.get(key)
        return self._lexemes[row] if row is not None else self._add(key)

    def __contains__(self, word: str) -> bool:
        return word in self._rows

    def __len__(self) -> int:
        return len(self._lexemes)

    def __iter__(self) -> Iterator[Lexeme]:
        return iter(list(self._lexemes))

    def lex_rows(self, words: List[str]) -> numpy.ndarray:
        """Rows of the words in `attr_table`, creating lexemes as needed. int64 (n,)."""
        get = self._rows.get
        rows = [get(w) for w in words]
        if None in rows:
            for i, row in enumerate(rows):
                if row is None:
                    rows[i] = self[words[i]].row
        return numpy.asarray(rows, dtype=numpy.int64)

    @property
    def attr_table(self) -> numpy.ndarray:
        """uint64 (n_lexemes, 6): hashes of ORTH, LOWER, NORM, PREFIX, SUFFIX, SHAPE."""
        return self._table[: len(self._lexemes)]

    def to_disk(self, path: Union[str, Path]) -> None:
        """Write `strings.json` (a JSON list) and, unless empty, the vectors (`vectors/`)
        into the directory `path`."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with (path / "strings.json").open("w", encoding="utf8") as f:
            json.dump(self.strings.to_list(), f, ensure_ascii=False)
        if self._vectors.n_keys or self._vectors.n_rows:
            self._vectors.to_disk(path / "vectors", strings=False)  # words are in strings.json

    def from_disk(self, path: Union[str, Path]) -> "Vocab":
        """Load strings written by `to_disk`; returns self."""
        file = Path(path) / "strings.json"
        strings = read_json(file, list)
        if not all(isinstance(s, str) for s in strings):
            raise DamagedFileError(file, "expected a JSON list of strings")
        for s in strings:
            self.strings.add(s)
        if (Path(path) / "vectors").exists():
            self.vectors = Vectors(strings=self.strings).from_disk(Path(path) / "vectors")
        return self

    def __repr__(self) -> str:
        return f"Vocab({len(self)} lexemes, {len(self.strings)} strings)"
