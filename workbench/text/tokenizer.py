"""Rule-based English tokenizer.

Whitespace rule (keeps `doc.text == text` for any input):
- A maximal run of whitespace after a token: if it starts with a single " ",
  that space becomes the token's trailing space (`token.whitespace_`).
- Whatever is left of the run (extra spaces, tabs, newlines, ...) becomes ONE
  whitespace token with no trailing space. Whitespace at the very start of the
  text is such a token too.

Each whitespace-free chunk is split by rules, and the split is cached:
special cases (contractions, abbreviations, emoticons) > token_match (URLs,
emails, @handles, #tags, acronyms like U.S.) > prefixes > suffixes > infixes.
Hyphens split between letters ("well-known" -> well - known) but not between
digits ("3-4", "555-1234", "2020-01-05" stay whole); "1,000.50" stays whole;
"$5" -> $ 5; "10km" -> 10 km; clitics split ("don't" -> do n't, "I'm" -> I 'm).
"""
import json
import re
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from ..damage import DamagedFileError, read_json, reading
from ..errors import ConfigError, DataError
from . import lang_en
from .doc import Doc
from .vocab import Vocab

_WS_RUNS = re.compile(r"(\s+)")
_CACHE_LIMIT = 500_000

_ENGLISH_RULES = {
    "prefixes": list(lang_en.PREFIXES), "suffixes": list(lang_en.SUFFIXES),
    "infixes": list(lang_en.INFIXES), "token_match": lang_en.TOKEN_MATCH,
}

Split = Tuple[Tuple[str, ...], Tuple[bool, ...]]


def _case_variants(text: str, pieces: Sequence[str], upper: bool = True) -> Dict[str, Tuple[str, ...]]:
    """The special case plus its Capitalized (and UPPER) forms, split at the same offsets."""
    lengths = [len(p) for p in pieces]
    out = {}
    forms = [text, text[:1].upper() + text[1:]] + ([text.upper()] if upper else [])
    for form in forms:
        if len(form) != len(text):
            continue
        split, pos = [], 0
        for n in lengths:
            split.append(form[pos:pos + n])
            pos += n
        out[form] = tuple(split)
    return out


def english_special_cases() -> Dict[str, Tuple[str, ...]]:
    """Chunks with a fixed split: contractions, clitics, abbreviations, emoticons."""
    cases: Dict[str, Tuple[str, ...]] = {}
    for text, pieces in lang_en.CONTRACTION_SPLITS.items():
        cases.update(_case_variants(text, pieces, upper=len(text) > 3))
    for text in lang_en.KEEP_WHOLE:
        cases.update(_case_variants(text, (text,)))
    for text in lang_en.ABBREVIATIONS + lang_en.EMOTICONS:
        cases[text] = (text,)
    return cases


def _check_case(text: str, pieces: Sequence[str]) -> Tuple[str, ...]:
    pieces = tuple(pieces)
    if not text or any(c.isspace() for c in text):
        raise ConfigError(f"Special case {text!r}: must be non-empty and contain no whitespace.")
    if "".join(pieces) != text or not all(pieces):
        raise ConfigError(
            f"Special case {text!r}: pieces {list(pieces)} must be non-empty and join to the text."
        )
    return pieces


class Tokenizer:
    """`Tokenizer(vocab)(text) -> Doc`. Rules default to English (`lang_en`)."""

    def __init__(
        self, vocab: Vocab, *, prefixes: Optional[Sequence[str]] = None,
        suffixes: Optional[Sequence[str]] = None, infixes: Optional[Sequence[str]] = None,
        token_match: Optional[str] = None,
        special_cases: Optional[Dict[str, Sequence[str]]] = None,
    ):
        self.vocab = vocab
        self._rules = {
            "prefixes": list(lang_en.PREFIXES if prefixes is None else prefixes),
            "suffixes": list(lang_en.SUFFIXES if suffixes is None else suffixes),
            "infixes": list(lang_en.INFIXES if infixes is None else infixes),
            "token_match": lang_en.TOKEN_MATCH if token_match is None else token_match,
        }
        self._prefix = self._compile("prefixes", "^(?:{})")
        self._suffix = self._compile("suffixes", "(?:{})\\Z")
        self._infix = self._compile("infixes", "{}")
        tm = self._rules["token_match"]
        self._token_match = re.compile(tm).fullmatch if tm else (lambda s: None)
        self._specials = english_special_cases()
        self._added: Dict[str, Tuple[str, ...]] = {}
        for text, pieces in (special_cases or {}).items():
            self.add_special_case(text, pieces)
        self._cache: Dict[str, Split] = {}
        # With the English rules no rule applies inside a purely alphabetic chunk.
        self._alpha_whole = self._rules == _ENGLISH_RULES

    def _compile(self, key: str, template: str) -> Optional["re.Pattern"]:
        patterns = self._rules[key]
        if not patterns:
            return None
        try:
            return re.compile(template.format("|".join(patterns)))
        except re.error as err:
            raise ConfigError(f"Tokenizer {key}: invalid regular expression ({err}).") from None

    def add_special_case(self, text: str, pieces: Sequence[str]) -> None:
        """Always split chunk `text` into `pieces` (which must join to `text`)."""
        pieces = _check_case(text, pieces)
        self._specials[text] = pieces
        self._added[text] = pieces
        self._cache = {}

    # --- the hot path -----------------------------------------------------------
    def __call__(self, text: str) -> Doc:
        if not isinstance(text, str):
            raise DataError(f"Tokenizer expects a str, got {type(text).__name__}: {text!r:.60}")
        words: List[str] = []
        spaces: List[bool] = []
        if text:
            if text.isprintable() and "  " not in text and text[0] != " ":
                # Only single spaces: every chunk is followed by exactly one space.
                get = self._cache.get
                chunks = text.split(" ")
                trailing = not chunks[-1]
                if trailing:
                    chunks.pop()
                for chunk in chunks:
                    hit = get(chunk) or self._split_and_cache(chunk)
                    words += hit[0]
                    spaces += hit[1]
                if not trailing:
                    spaces[-1] = False
            else:
                self._tokenize_general(text, words, spaces)
        return Doc._from_tokenizer(self.vocab, words, spaces)

    def _tokenize_general(self, text: str, words: List[str], spaces: List[bool]) -> None:
        get = self._cache.get
        for k, part in enumerate(_WS_RUNS.split(text)):
            if not part:
                continue
            if k % 2 == 0:
                hit = get(part) or self._split_and_cache(part)
                words += hit[0]
                spaces += hit[1]
                spaces[-1] = False
            else:
                if words and part[0] == " ":
                    spaces[-1] = True
                    part = part[1:]
                if part:
                    words.append(part)
                    spaces.append(False)

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        """Tokenize a stream of texts (`batch_size` is accepted for API symmetry)."""
        for text in texts:
            yield self(text)

    # --- chunk splitting (cache misses only) ------------------------------------
    def _split_and_cache(self, chunk: str) -> Split:
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache = {}
        if self._alpha_whole and chunk.isalpha() and chunk not in self._specials:
            pieces: Tuple[str, ...] = (chunk,)
        else:
            pieces = tuple(self.split_chunk(chunk))
        hit = (pieces, (False,) * (len(pieces) - 1) + (True,))
        self._cache[chunk] = hit
        return hit

    def split_chunk(self, chunk: str) -> List[str]:
        """Split one whitespace-free string into token strings."""
        return [piece for _rule, piece in self.explain_chunk(chunk)]

    def explain_chunk(self, chunk: str) -> List[Tuple[str, str]]:
        """Like `split_chunk` but pairs each piece with the rule that produced it."""
        special = self._specials.get(chunk)
        if special is not None:
            return [("special", p) for p in special]
        prefixes: List[Tuple[str, str]] = []
        suffixes: List[Tuple[str, str]] = []
        middle: List[Tuple[str, str]] = []
        s = chunk
        while s:
            special = self._specials.get(s)
            if special is not None:
                middle = [("special", p) for p in special]
                break
            if self._token_match(s):
                middle = [("token_match", s)]
                break
            m = self._prefix.match(s) if self._prefix else None
            if m and m.end():
                prefixes.append(("prefix", m.group()))
                s = s[m.end():]
                continue
            m = self._suffix.search(s) if self._suffix else None
            if m and m.start() < len(s):
                suffixes.append(("suffix", m.group()))
                s = s[:m.start()]
                continue
            middle = self._explain_infixes(s)
            break
        return prefixes + middle + suffixes[::-1]

    def _explain_infixes(self, s: str) -> List[Tuple[str, str]]:
        out: List[Tuple[str, str]] = []
        pos = 0
        for m in self._infix.finditer(s) if self._infix else ():
            if m.start() == m.end() or (m.start() == 0 and m.end() == len(s)):
                continue
            if m.start() > pos:
                out.extend(self._explain_piece(s[pos:m.start()], s))
            out.append(("infix", m.group()))
            pos = m.end()
        if pos == 0:
            return [("token", s)]
        if pos < len(s):
            out.extend(self._explain_piece(s[pos:], s))
        return out

    def _explain_piece(self, piece: str, whole: str) -> List[Tuple[str, str]]:
        """Pieces between infixes go through the rules again (they are shorter)."""
        return self.explain_chunk(piece) if len(piece) < len(whole) else [("token", piece)]

    def explain(self, text: str) -> List[Tuple[str, str]]:
        """(rule, token) pairs for `text`; rules: special, token_match, prefix, suffix,
        infix, token, space. Useful for debugging why a text was split as it was."""
        out: List[Tuple[str, str]] = []
        for part in _WS_RUNS.split(text):
            if not part:
                continue
            if part.isspace():
                rest = part[1:] if out and part[0] == " " else part
                if rest:
                    out.append(("space", rest))
            else:
                out.extend(self.explain_chunk(part))
        return out

    # --- serialization ------------------------------------------------------------
    def to_disk(self, path: Union[str, Path]) -> None:
        """Write `tokenizer.json` (rules and added special cases) into directory `path`."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        data = dict(self._rules, special_cases={k: list(v) for k, v in self._added.items()})
        (path / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf8")

    def from_disk(self, path: Union[str, Path]) -> "Tokenizer":
        """Replace this tokenizer's rules with those written by `to_disk`; returns self."""
        file = Path(path) / "tokenizer.json"
        data = read_json(file, dict)
        unknown = set(data) - {"prefixes", "suffixes", "infixes", "token_match", "special_cases"}
        if unknown:
            raise DamagedFileError(file, f"unknown keys {sorted(unknown)}")
        with reading(file):  # rules that do not compile, special cases of the wrong shape
            self.__init__(self.vocab, **data)
        return self


def create_english_tokenizer():
    """Factory for configs: returns `make(vocab) -> Tokenizer` with the English rules."""
    def make(vocab: Vocab) -> Tokenizer:
        return Tokenizer(vocab)
    return make
