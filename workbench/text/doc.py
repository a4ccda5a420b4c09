"""Doc, Token and Span: the annotated-text containers, plus `._` extension attributes.

A Doc stores only `words` and `spaces` (and optional tags, pos, sentence
starts and entities). Character offsets, lexeme rows and the joined text are
computed lazily, once, so that making a Doc in the tokenizer costs almost nothing.
"""
import copy
import keyword
from bisect import bisect_left, bisect_right
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy

from ..errors import ConfigError, DataError, ExtensionError
from ..vectors.table import HOW_TO_ADD, warn_no_vector
from . import syntax
from .attrs import LOWER, NORM, ORTH, attr_id
from .biluo import biluo_to_spans, iob_to_biluo
from .vocab import Vocab

_UNSET = object()
_IMMUTABLE = (type(None), bool, int, float, complex, str, bytes, tuple, frozenset)
_LEX_FLAGS = (
    "is_alpha", "is_digit", "is_lower", "is_upper", "is_title", "is_punct", "is_space",
    "is_stop", "like_num", "like_url", "like_email", "is_currency",
)


# --- extension attributes -------------------------------------------------------

class Underscore:
    """The `._` namespace of one Doc, Token or Span. Values live in `doc.user_data`."""

    __slots__ = ("_owner", "_obj", "_doc", "_start", "_end")

    def __init__(self, owner: type, obj: Any, doc: "Doc", start=None, end=None):
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_doc", doc)
        object.__setattr__(self, "_start", start)
        object.__setattr__(self, "_end", end)

    def _ext(self, name: str) -> tuple:
        exts = self._owner._extensions
        if name not in exts:
            cls = self._owner.__name__
            known = ", ".join(sorted(exts)) or "none"
            raise ExtensionError(
                f"{cls} has no extension attribute '{name}' (registered: {known}). Register it "
                f"first, e.g. `{cls}.set_extension('{name}', default=None)`."
            )
        return exts[name]

    def _key(self, name: str) -> tuple:
        return ("._.", name, self._start, self._end)

    def __getattr__(self, name: str) -> Any:
        default, method, getter, _setter = self._ext(name)
        if getter is not None:
            return getter(self._obj)
        if method is not None:
            obj = self._obj
            return lambda *args, **kwargs: method(obj, *args, **kwargs)
        data = self._doc.user_data
        key = self._key(name)
        if key in data:
            return data[key]
        if isinstance(default, _IMMUTABLE):
            return default
        value = data[key] = copy.deepcopy(default)  # per-object copy of a mutable default
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        default, method, getter, setter = self._ext(name)
        cls = self._owner.__name__
        if setter is not None:
            setter(self._obj, value)
        elif getter is not None or method is not None:
            kind = "getter" if getter is not None else "method"
            raise ExtensionError(
                f"{cls} extension '{name}' is a {kind} and cannot be assigned. Register it with "
                f"`{cls}.set_extension('{name}', getter=..., setter=..., force=True)` to allow it."
            )
        else:
            self._doc.user_data[self._key(name)] = value

    def get(self, name: str) -> Any:
        return getattr(self, name)

    def set(self, name: str, value: Any) -> None:
        setattr(self, name, value)

    def has(self, name: str) -> bool:
        return name in self._owner._extensions

    def __dir__(self) -> List[str]:
        return sorted(self._owner._extensions)


class _Extensible:
    """Class-level registry of `._` attributes; each subclass has its own `_extensions`."""

    __slots__ = ()
    _extensions: Dict[str, tuple] = {}

    @classmethod
    def set_extension(
        cls, name: str, default: Any = _UNSET, getter: Optional[Callable] = None,
        setter: Optional[Callable] = None, method: Optional[Callable] = None, force: bool = False,
    ) -> None:
        """Register `obj._.name`: exactly one of default / getter / method; setter needs a getter."""
        where = f"{cls.__name__}.set_extension({name!r})"
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ExtensionError(f"{where}: the name must be a Python identifier, e.g. 'my_attr'.")
        if name.startswith("_") or hasattr(Underscore, name) or hasattr(cls, name):
            raise ExtensionError(
                f"{where}: the name clashes with an existing attribute of {cls.__name__} or of "
                f"its `._` namespace. Choose another name, e.g. 'my_{name.lstrip('_')}'."
            )
        given = [k for k, v in (("default", default is not _UNSET), ("getter", getter),
                                ("method", method)) if v]
        if len(given) != 1:
            raise ExtensionError(
                f"{where}: give exactly one of default=, getter= or method= "
                f"(got {', '.join(given) or 'none'})."
            )
        if setter is not None and getter is None:
            raise ExtensionError(f"{where}: setter= only works together with getter=.")
        for fn_name, fn in (("getter", getter), ("setter", setter), ("method", method)):
            if fn is not None and not callable(fn):
                raise ExtensionError(f"{where}: {fn_name}= must be callable, got {fn!r}.")
        if name in cls._extensions and not force:
            raise ExtensionError(
                f"{where}: '{name}' is already registered. Pass force=True to replace it."
            )
        cls._extensions[name] = (None if default is _UNSET else default, method, getter, setter)

    @classmethod
    def has_extension(cls, name: str) -> bool:
        return name in cls._extensions

    @classmethod
    def get_extension(cls, name: str) -> Optional[tuple]:
        """(default, method, getter, setter) or None when not registered."""
        return cls._extensions.get(name)

    @classmethod
    def remove_extension(cls, name: str) -> tuple:
        if name not in cls._extensions:
            raise ExtensionError(
                f"{cls.__name__}.remove_extension({name!r}): no such extension is registered."
            )
        return cls._extensions.pop(name)


# --- word vectors ---------------------------------------------------------------

VECTOR_KEY_ATTRS = (ORTH, LOWER, NORM)  # a token's vector: its ORTH key, else LOWER, else NORM


def vector_rows(doc: "Doc", start: int = 0, end: Optional[int] = None) -> numpy.ndarray:
    """int64 (end - start,): each token's row in `doc.vocab.vectors` (ORTH, else LOWER,
    else NORM key); -1 for tokens without a vector."""
    vectors = doc.vocab.vectors
    rows = doc.lex_rows[start:end]
    if vectors.n_keys == 0:
        return numpy.full(len(rows), -1, dtype=numpy.int64)
    keys = doc.vocab.attr_table[rows][:, VECTOR_KEY_ATTRS]  # (n, 3) uint64
    return vectors.find_first(keys)


class _VectorMixin:
    """vector / has_vector / vector_norm / similarity for Doc, Span and Token.

    Subclasses define `_vector_rows()` (the rows of their tokens) and `_vector_doc()`.
    """

    __slots__ = ()

    def _vector_rows(self) -> numpy.ndarray:
        raise NotImplementedError

    @property
    def has_vector(self) -> bool:
        """True when at least one token has a row in `vocab.vectors`."""
        return bool((self._vector_rows() >= 0).any())

    @property
    def vector(self) -> numpy.ndarray:
        """(width,) float32: the token's row, or the mean of the rows of the tokens that
        have one (a Span or Doc); zeros when there is none (then `has_vector` is False)."""
        vectors = self._vector_doc().vocab.vectors
        rows = self._vector_rows()
        rows = rows[rows >= 0]
        if not len(rows):
            return numpy.zeros((vectors.width,), dtype=numpy.float32)
        if len(rows) == 1:
            return vectors.data[rows[0]].copy()
        return vectors.data[rows].mean(axis=0)

    @property
    def vector_norm(self) -> float:
        return float(numpy.linalg.norm(self.vector))

    def similarity(self, other: Any) -> float:
        """Cosine similarity of the two `.vector`s. When either side has no vector (or a
        zero vector) this warns (VectorsWarning, naming the text) and returns 0.0."""
        for obj in (self, other):
            if not isinstance(obj, _VectorMixin):
                raise TypeError(f"similarity() needs a Doc, Span or Token, got {type(obj).__name__}.")
            if not obj.has_vector:
                if obj._vector_doc().vocab.vectors.n_keys == 0:
                    reason = f"the vocab has no vectors table. {HOW_TO_ADD}"
                elif isinstance(obj, Token):
                    reason = "out of vocabulary: none of its ORTH/LOWER/NORM keys is in the vectors table"
                else:
                    reason = "out of vocabulary: none of its tokens is in the vectors table"
                warn_no_vector(obj, reason)
                return 0.0
        a, b = self.vector, other.vector
        if a.shape != b.shape:
            raise ValueError(
                f"similarity(): the vectors have different widths ({a.shape[0]} and {b.shape[0]}); "
                f"compare texts whose vocabs use the same vectors table."
            )
        norm = float(numpy.linalg.norm(a)) * float(numpy.linalg.norm(b))
        if norm == 0.0:
            warn_no_vector(self if not a.any() else other, "its vector is all zeros")
            return 0.0
        return float(numpy.dot(a, b) / norm)


# --- Doc ------------------------------------------------------------------------

def _check_len(values, n: int, key: str) -> list:
    values = list(values)
    if len(values) != n:
        raise DataError(f"Doc: '{key}' has {len(values)} values but the doc has {n} words.")
    return values


class Doc(_VectorMixin, _Extensible):
    """A sequence of tokens: `words`, `spaces` (trailing space after each) and annotations."""

    _extensions: Dict[str, tuple] = {}

    def __init__(
        self, vocab: Vocab, words: Sequence[str], spaces: Optional[Sequence[bool]] = None, *,
        tags: Optional[Sequence[Optional[str]]] = None, pos: Optional[Sequence[Optional[str]]] = None,
        sent_starts: Optional[Sequence[Optional[bool]]] = None, ents: Optional[Sequence] = None,
        heads: Optional[Sequence[Optional[int]]] = None, deps: Optional[Sequence[Optional[str]]] = None,
        cats: Optional[Dict[str, float]] = None,
    ):
        words = list(words)
        n = len(words)
        for i, w in enumerate(words):
            if not isinstance(w, str) or not w:
                raise DataError(f"Doc: word {i} is {w!r}; words must be non-empty strings.")
        if spaces is None:
            spaces = [True] * n
            if n:
                spaces[-1] = False
        else:
            spaces = [bool(s) for s in _check_len(spaces, n, "spaces")]
        self._init(vocab, words, spaces)
        if tags is not None:
            self.tags = tags
        if pos is not None:
            self.pos = pos
        if sent_starts is not None:
            self.sent_starts = sent_starts
        if ents is not None:
            self.ents = ents
        if heads is not None:
            self.heads = heads
        if deps is not None:
            self.deps = deps
        if cats is not None:
            self.cats = syntax.check_cats(cats)

    def _init(self, vocab: Vocab, words: List[str], spaces: List[bool]) -> None:
        self.vocab = vocab
        self.words = words
        self.spaces = spaces
        self.user_data: Dict[Any, Any] = {}
        self.tensor = None
        self._tags = self._pos = self._sent_starts = None
        self._heads = self._deps = self._children = None  # absolute head index (root: itself)
        self.cats: Dict[str, float] = {}
        self._ents: List[Tuple[int, int, str]] = []
        self._ent_tokens = None
        self._text = None
        self._starts = None
        self._lex_rows = None

    @classmethod
    def _from_tokenizer(cls, vocab: Vocab, words: List[str], spaces: List[bool]) -> "Doc":
        """Unchecked constructor for the tokenizer (words/spaces already valid, not shared)."""
        doc = cls.__new__(cls)
        doc._init(vocab, words, spaces)
        return doc

    # text and offsets
    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join([w + " " if s else w for w, s in zip(self.words, self.spaces)])
        return self._text

    @property
    def text_with_ws(self) -> str:
        return self.text

    def _token_starts(self) -> List[int]:
        if self._starts is None:
            starts, pos = [], 0
            for w, s in zip(self.words, self.spaces):
                starts.append(pos)
                pos += len(w) + s
            self._starts = starts
        return self._starts

    @property
    def lex_rows(self) -> numpy.ndarray:
        """int64 (n_tokens,): each token's row in `vocab.attr_table` (computed once)."""
        if self._lex_rows is None:
            self._lex_rows = self.vocab.lex_rows(self.words)
        return self._lex_rows

    def _vector_rows(self) -> numpy.ndarray:
        return vector_rows(self)

    def _vector_doc(self) -> "Doc":
        return self

    # sequence protocol
    def __len__(self) -> int:
        return len(self.words)

    def __iter__(self) -> Iterator["Token"]:
        for i in range(len(self.words)):
            yield Token(self, i)

    def __getitem__(self, key: Union[int, slice]) -> Union["Token", "Span"]:
        n = len(self.words)
        if isinstance(key, slice):
            start, end, step = key.indices(n)
            if step != 1:
                raise DataError(f"Doc slices must be contiguous (step 1), got step {step}.")
            return Span(self, start, max(start, end))
        i = key + n if key < 0 else key
        if not 0 <= i < n:
            raise IndexError(f"Token index {key} is out of range for a doc of {n} tokens.")
        return Token(self, i)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return repr(self.text)

    @property
    def _(self) -> Underscore:
        return Underscore(Doc, self, self)

    # per-token annotation lists
    def _get_list(self, attr: str) -> list:
        values = getattr(self, attr)
        if values is None:
            values = [None] * len(self.words)
            setattr(self, attr, values)
        return values

    @property
    def tags(self) -> List[Optional[str]]:
        return self._get_list("_tags")

    @tags.setter
    def tags(self, values: Sequence[Optional[str]]) -> None:
        self._tags = _check_len(values, len(self), "tags")

    @property
    def pos(self) -> List[Optional[str]]:
        return self._get_list("_pos")

    @pos.setter
    def pos(self, values: Sequence[Optional[str]]) -> None:
        self._pos = _check_len(values, len(self), "pos")

    @property
    def sent_starts(self) -> List[Optional[bool]]:
        return self._get_list("_sent_starts")

    @sent_starts.setter
    def sent_starts(self, values: Sequence[Optional[bool]]) -> None:
        values = _check_len(values, len(self), "sent_starts")
        self._sent_starts = [None if v is None else bool(v) for v in values]

    # dependency parse and categories (see syntax.py)
    @property
    def heads(self) -> List[Optional[int]]:
        """Each token's head as a doc index (a root is its own head; None = unknown)."""
        return self._get_list("_heads")

    @heads.setter
    def heads(self, values: Sequence[Optional[int]]) -> None:
        self._heads = syntax.check_heads(_check_len(values, len(self), "heads"))
        self._children = None

    @property
    def deps(self) -> List[Optional[str]]:
        return self._get_list("_deps")

    @deps.setter
    def deps(self, values: Sequence[Optional[str]]) -> None:
        self._deps = [v or None for v in _check_len(values, len(self), "deps")]

    def _set_parse(self, heads: List[int], deps: List[str], sent_starts: List[bool]) -> None:
        """Unchecked writes for the parser, whose output is a valid forest: heads as doc
        indices (a root is its own head), non-empty labels, bool starts, one per token."""
        self._heads, self._deps, self._sent_starts = heads, deps, sent_starts
        self._children = None

    @property
    def has_heads(self) -> bool:
        return self._heads is not None and any(h is not None for h in self._heads)

    @property
    def noun_chunks(self) -> Iterator["Span"]:
        """Base noun phrases from the parse (English, UD or ClearNLP labels)."""
        for start, end in syntax.noun_chunks(self):
            yield Span(self, start, end, "NP")

    # sentences
    @property
    def has_sents(self) -> bool:
        """True when any sentence boundary (True or False) is set after the first token."""
        starts = self._sent_starts
        return starts is not None and any(s is not None for s in starts[1:])

    def _sent_bounds(self) -> List[int]:
        starts = self._sent_starts
        bounds = [0]
        if starts is not None:
            bounds += [i for i in range(1, len(starts)) if starts[i]]
        return bounds + [len(self)]

    @property
    def sents(self) -> Iterator["Span"]:
        """Sentences as Spans; without boundaries the whole doc is one sentence."""
        if not self.words:
            return
        bounds = self._sent_bounds()
        for start, end in zip(bounds, bounds[1:]):
            yield Span(self, start, end)

    def _sent_of(self, i: int) -> "Span":
        bounds = self._sent_bounds()
        k = bisect_right(bounds, i) - 1
        return Span(self, bounds[k], bounds[min(k + 1, len(bounds) - 1)])

    # entities
    @property
    def ents(self) -> Tuple["Span", ...]:
        return tuple(Span(self, s, e, label) for s, e, label in self._ents)

    @ents.setter
    def ents(self, value: Sequence) -> None:
        value = list(value)
        n = len(self)
        if value and len(value) == n and all(isinstance(v, str) for v in value):
            tags = value
            if not any(t[:2] in ("L-", "U-") for t in tags):
                tags = iob_to_biluo(tags)
            spans = biluo_to_spans(tags)
        else:
            spans = []
            for item in value:
                if isinstance(item, Span):
                    if item.doc is not self:
                        raise DataError(f"Entity {item!r} belongs to another Doc.")
                    spans.append((item.start, item.end, item.label_))
                elif isinstance(item, (tuple, list)) and len(item) == 3:
                    spans.append((int(item[0]), int(item[1]), str(item[2])))
                else:
                    raise DataError(
                        f"Entity {item!r}: give Spans, (start, end, label) tuples, or one "
                        f"IOB/BILUO tag string per token ({n} tokens)."
                    )
        spans.sort()
        for k, (s, e, label) in enumerate(spans):
            if not 0 <= s < e <= n:
                raise DataError(f"Entity ({s}, {e}, {label!r}) is empty or outside the doc's {n} tokens.")
            if not label:
                raise DataError(f"Entity ({s}, {e}) has an empty label; every entity needs one.")
            if k and s < spans[k - 1][1]:
                raise DataError(
                    f"Entities {spans[k - 1]} and {(s, e, label)} overlap. An entity layer "
                    f"cannot hold overlapping spans; keep one of them (or store both in doc.user_data)."
                )
        self._ents = spans
        self._ent_tokens = None

    def _ent_info(self, i: int) -> Tuple[str, str]:
        if self._ent_tokens is None:
            info = [("O", "")] * len(self)
            for s, e, label in self._ents:
                info[s] = ("B", label)
                for j in range(s + 1, e):
                    info[j] = ("I", label)
            self._ent_tokens = info
        return self._ent_tokens[i]

    # arrays and spans
    def to_array(self, attrs: Union[int, str, Sequence[Union[int, str]]]) -> numpy.ndarray:
        """uint64 (n_tokens, len(attrs)) lexeme attributes; a single attr gives (n_tokens,)."""
        rows = self.lex_rows  # first: creating lexemes grows the table
        if isinstance(attrs, (int, str, numpy.integer)):
            return self.vocab.attr_table[rows, attr_id(attrs)]
        cols = [attr_id(a) for a in attrs]
        return self.vocab.attr_table[rows][:, cols]

    def char_span(
        self, start_char: int, end_char: int, label: Optional[str] = None,
        alignment_mode: str = "strict",
    ) -> Optional["Span"]:
        """The Span covering text[start_char:end_char], or None if not aligned to tokens.

        alignment_mode: "strict" (exact token boundaries), "contract" (tokens fully
        inside) or "expand" (tokens overlapping the range).
        """
        starts = self._token_starts()
        ends = [s + len(w) for s, w in zip(starts, self.words)]
        if alignment_mode == "strict":
            i = bisect_left(starts, start_char)
            j = bisect_left(ends, end_char)
            if i >= len(starts) or starts[i] != start_char or j >= len(ends) or ends[j] != end_char:
                return None
            j += 1
        elif alignment_mode == "contract":
            i, j = bisect_left(starts, start_char), bisect_right(ends, end_char)
        elif alignment_mode == "expand":
            i, j = bisect_right(ends, start_char), bisect_left(starts, end_char)
        else:
            raise ConfigError(
                f"char_span: unknown alignment_mode {alignment_mode!r}; use 'strict', "
                f"'contract' or 'expand'."
            )
        if j <= i:
            return None
        return Span(self, i, j, label or "")

    # serialization
    def to_json(self) -> Dict[str, Any]:
        """The workbench's annotated-doc format (one JSON object per JSONL line)."""
        return {
            "text": self.text,
            "words": list(self.words),
            "spaces": list(self.spaces),
            "tags": list(self._tags or [None] * len(self)),
            "pos": list(self._pos or [None] * len(self)),
            "sent_starts": list(self._sent_starts or [None] * len(self)),
            "ents": [[s, e, label] for s, e, label in self._ents],
            **syntax.parse_json(self),
        }

    @classmethod
    def from_json(cls, vocab: Vocab, data: Dict[str, Any]) -> "Doc":
        """Inverse of `to_json`. Only `words` is required; spaces are inferred from `text`
        when it is given, else default to all True except the last."""
        if not isinstance(data, dict) or not isinstance(data.get("words"), list):
            raise DataError(
                "Doc.from_json: expected an object with a 'words' list, e.g. "
                '{"words": ["Hello", "world"]}; got ' + repr(data)[:80]
            )
        words = data["words"]
        spaces = data.get("spaces")
        text = data.get("text")
        if spaces is None and text is not None:
            spaces = _spaces_from_text(words, text)
        ents = data.get("ents")
        if ents is not None:
            ents = [tuple(e) if isinstance(e, list) else e for e in ents]
        doc = cls(
            vocab, words, spaces, tags=data.get("tags"), pos=data.get("pos"),
            sent_starts=data.get("sent_starts"), ents=ents, heads=data.get("heads"),
            deps=data.get("deps"), cats=data.get("cats"),
        )
        if text is not None and doc.text != text:
            raise DataError(
                f"Doc.from_json: 'text' {text[:60]!r} does not match words+spaces "
                f"{doc.text[:60]!r}. Fix 'spaces' or drop 'text'."
            )
        return doc

    def copy(self) -> "Doc":
        """A new Doc with the same words and annotations (user_data shallow-copied)."""
        doc = Doc._from_tokenizer(self.vocab, list(self.words), list(self.spaces))
        for attr in ("_tags", "_pos", "_sent_starts"):
            value = getattr(self, attr)
            setattr(doc, attr, None if value is None else list(value))
        doc._ents = list(self._ents)
        doc._heads = None if self._heads is None else list(self._heads)
        doc._deps = None if self._deps is None else list(self._deps)
        doc.cats = dict(self.cats)
        doc.user_data = dict(self.user_data)
        doc.tensor = self.tensor
        return doc


def _spaces_from_text(words: List[str], text: str) -> List[bool]:
    spaces, pos = [], 0
    for i, w in enumerate(words):
        if not isinstance(w, str) or text.find(w, pos) != pos:
            raise DataError(
                f"Doc.from_json: word {i} {w!r} is not found at character {pos} of 'text' "
                f"{text[pos:pos + 20]!r}; words must spell out the text in order."
            )
        pos += len(w)
        space = text.startswith(" ", pos)
        spaces.append(space)
        pos += space
    if pos != len(text):
        raise DataError(f"Doc.from_json: 'text' has {text[pos:pos + 20]!r} left after the last word.")
    return spaces


# --- Token ----------------------------------------------------------------------

class Token(_VectorMixin, _Extensible):
    """A view of one token of a Doc (cheap to create; holds only doc and index)."""

    __slots__ = ("doc", "i")
    _extensions: Dict[str, tuple] = {}

    def __init__(self, doc: Doc, i: int):
        self.doc = doc
        self.i = i

    @property
    def text(self) -> str:
        return self.doc.words[self.i]

    orth_ = text

    @property
    def lex(self):
        return self.doc.vocab[self.doc.words[self.i]]

    lower_ = property(lambda self: self.lex.lower_)
    norm_ = property(lambda self: self.lex.norm_)
    prefix_ = property(lambda self: self.lex.prefix_)
    suffix_ = property(lambda self: self.lex.suffix_)
    shape_ = property(lambda self: self.lex.shape_)
    orth = property(lambda self: self.lex.orth)
    lower = property(lambda self: self.lex.lower)
    norm = property(lambda self: self.lex.norm)

    def _vector_rows(self) -> numpy.ndarray:
        lex = self.lex
        vectors = self.doc.vocab.vectors
        if vectors.n_keys == 0:
            return numpy.full(1, -1, dtype=numpy.int64)
        return vectors.find_first(numpy.asarray([[lex.orth, lex.lower, lex.norm]], dtype=numpy.uint64))

    def _vector_doc(self) -> Doc:
        return self.doc

    @property
    def is_oov(self) -> bool:
        """True when the token has no row in `vocab.vectors` (ORTH, LOWER or NORM key)."""
        return not self.has_vector

    @property
    def whitespace_(self) -> str:
        return " " if self.doc.spaces[self.i] else ""

    @property
    def text_with_ws(self) -> str:
        return self.text + self.whitespace_

    @property
    def idx(self) -> int:
        """Character offset of the token in `doc.text`."""
        return self.doc._token_starts()[self.i]

    @property
    def tag_(self) -> str:
        return self.doc.tags[self.i] or ""

    @tag_.setter
    def tag_(self, value: Optional[str]) -> None:
        self.doc.tags[self.i] = value or None

    @property
    def pos_(self) -> str:
        return self.doc.pos[self.i] or ""

    @pos_.setter
    def pos_(self, value: Optional[str]) -> None:
        self.doc.pos[self.i] = value or None

    @property
    def is_sent_start(self) -> Optional[bool]:
        """True for the first token; else the stored boundary (True/False/None = unknown)."""
        return True if self.i == 0 else self.doc.sent_starts[self.i]

    @is_sent_start.setter
    def is_sent_start(self, value: Optional[bool]) -> None:
        self.doc.sent_starts[self.i] = None if value is None else bool(value)

    @property
    def sent(self) -> "Span":
        return self.doc._sent_of(self.i)

    @property
    def head(self) -> "Token":
        """The syntactic head (the token itself for a root or when there is no parse)."""
        h = self.doc.heads[self.i] if self.doc._heads is not None else None
        return self if h is None else Token(self.doc, h)

    @property
    def dep_(self) -> str:
        return (self.doc.deps[self.i] if self.doc._deps is not None else None) or ""

    @dep_.setter
    def dep_(self, value: Optional[str]) -> None:
        self.doc.deps[self.i] = value or None

    @property
    def children(self) -> Iterator["Token"]:
        """The syntactic dependents, left to right."""
        for j in syntax.children_of(self.doc)[self.i]:
            yield Token(self.doc, j)

    @property
    def lefts(self) -> Iterator["Token"]:
        return (t for t in self.children if t.i < self.i)

    @property
    def rights(self) -> Iterator["Token"]:
        return (t for t in self.children if t.i > self.i)

    @property
    def subtree(self) -> Iterator["Token"]:
        """The token and all its descendants, in doc order."""
        for j in syntax.subtree_of(self.doc, self.i):
            yield Token(self.doc, j)

    @property
    def ancestors(self) -> Iterator["Token"]:
        tok = self
        while tok.head.i != tok.i:
            tok = tok.head
            yield tok

    @property
    def left_edge(self) -> "Token":
        return Token(self.doc, syntax.subtree_of(self.doc, self.i)[0])

    @property
    def right_edge(self) -> "Token":
        return Token(self.doc, syntax.subtree_of(self.doc, self.i)[-1])

    @property
    def ent_iob_(self) -> str:
        return self.doc._ent_info(self.i)[0]

    @property
    def ent_type_(self) -> str:
        return self.doc._ent_info(self.i)[1]

    def nbor(self, offset: int = 1) -> "Token":
        j = self.i + offset
        if not 0 <= j < len(self.doc):
            raise IndexError(f"Token {self.i} has no neighbour at offset {offset}.")
        return Token(self.doc, j)

    @property
    def _(self) -> Underscore:
        return Underscore(Token, self, self.doc, self.i)

    def __len__(self) -> int:
        return len(self.text)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return isinstance(other, Token) and other.doc is self.doc and other.i == self.i

    def __hash__(self) -> int:
        return hash((id(self.doc), self.i))


def _flag(name: str) -> property:
    return property(lambda self: getattr(self.lex, name), doc=f"Lexeme flag {name}.")


for _name in _LEX_FLAGS:
    setattr(Token, _name, _flag(_name))


# --- Span -----------------------------------------------------------------------

class Span(_VectorMixin, _Extensible):
    """Tokens doc[start:end] with an optional label."""

    __slots__ = ("doc", "start", "end", "label_")
    _extensions: Dict[str, tuple] = {}

    def __init__(self, doc: Doc, start: int, end: int, label: str = ""):
        if not 0 <= start <= end <= len(doc):
            raise DataError(
                f"Span({start}, {end}) is outside the doc's {len(doc)} tokens: "
                f"need 0 <= start <= end <= {len(doc)}."
            )
        self.doc = doc
        self.start = start
        self.end = end
        self.label_ = label or ""

    @property
    def label(self) -> int:
        return self.doc.vocab.strings.add(self.label_)

    @property
    def start_char(self) -> int:
        if self.start < len(self.doc):
            return self.doc._token_starts()[self.start]
        return len(self.doc.text)

    @property
    def end_char(self) -> int:
        if self.end == self.start:
            return self.start_char
        return self.doc._token_starts()[self.end - 1] + len(self.doc.words[self.end - 1])

    @property
    def text(self) -> str:
        return self.doc.text[self.start_char:self.end_char]

    @property
    def text_with_ws(self) -> str:
        ws = " " if self.end > self.start and self.doc.spaces[self.end - 1] else ""
        return self.text + ws

    @property
    def words(self) -> List[str]:
        return self.doc.words[self.start:self.end]

    def __len__(self) -> int:
        return self.end - self.start

    def __iter__(self) -> Iterator[Token]:
        for i in range(self.start, self.end):
            yield Token(self.doc, i)

    def __getitem__(self, key: Union[int, slice]) -> Union[Token, "Span"]:
        n = len(self)
        if isinstance(key, slice):
            start, end, step = key.indices(n)
            if step != 1:
                raise DataError(f"Span slices must be contiguous (step 1), got step {step}.")
            return Span(self.doc, self.start + start, self.start + max(start, end))
        i = key + n if key < 0 else key
        if not 0 <= i < n:
            raise IndexError(f"Token index {key} is out of range for a span of {n} tokens.")
        return Token(self.doc, self.start + i)

    def _vector_rows(self) -> numpy.ndarray:
        return vector_rows(self.doc, self.start, self.end)

    def _vector_doc(self) -> Doc:
        return self.doc

    @property
    def sent(self) -> "Span":
        """The sentence containing the span's first token."""
        return self.doc._sent_of(min(self.start, max(len(self.doc) - 1, 0)))

    @property
    def ents(self) -> Tuple["Span", ...]:
        return tuple(e for e in self.doc.ents if e.start >= self.start and e.end <= self.end)

    @property
    def _(self) -> Underscore:
        return Underscore(Span, self, self.doc, self.start, self.end)

    def as_doc(self) -> Doc:
        """A new Doc holding copies of this span's tokens and annotations."""
        s, e = self.start, self.end
        src = self.doc
        spaces = src.spaces[s:e]
        if spaces:
            spaces[-1] = False
        doc = Doc._from_tokenizer(src.vocab, src.words[s:e], spaces)
        for attr in ("_tags", "_pos", "_sent_starts"):
            value = getattr(src, attr)
            setattr(doc, attr, None if value is None else value[s:e])
        doc._ents = [(a - s, b - s, label) for a, b, label in src._ents if a >= s and b <= e]
        if src._heads is not None:  # a head outside the span makes the token a root
            doc._heads = [None if h is None else h - s if s <= h < e else i
                          for i, h in enumerate(src._heads[s:e])]
        if src._deps is not None:
            doc._deps = src._deps[s:e]
        doc.cats = dict(src.cats)
        return doc

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Span) and other.doc is self.doc and other.start == self.start
            and other.end == self.end and other.label_ == self.label_
        )

    def __hash__(self) -> int:
        return hash((id(self.doc), self.start, self.end, self.label_))

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text
