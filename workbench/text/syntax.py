"""The dependency parse and categories of a Doc: checks, tree walks, noun chunks.

Heads are absolute token indices in the doc, a root being its own head (None:
unknown); `deps` are the relation labels. Doc and Token call these helpers.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import DataError

# Relations whose noun heads a base noun phrase (UD and the ClearNLP labels of older corpora).
NP_DEPS = frozenset({
    "nsubj", "nsubj:pass", "nsubjpass", "csubj", "obj", "dobj", "iobj", "dative", "obl",
    "obl:npmod", "obl:tmod", "nmod", "pobj", "appos", "attr", "oprd", "root", "expl", "vocative",
})
# Left dependents that belong inside the noun phrase.
NP_MODIFIERS = frozenset({
    "det", "det:poss", "amod", "compound", "nummod", "nmod:poss", "poss", "flat", "nn",
    "quantmod", "det:predet", "predet", "nmod:npmod",
})
NOUN_POS = frozenset({"NOUN", "PROPN", "PRON"})
NOUN_TAGS = ("NN", "PRP", "WP")


def check_heads(values: List[Any]) -> List[Optional[int]]:
    """The heads as ints or None, checked (a DataError names the first bad token)."""
    n = len(values)
    if n and all(type(h) is int for h in values):  # a complete parse as Python ints (what a parser sets)
        if min(values) >= 0 and max(values) < n:
            return list(values)
    elif n and None not in values:  # a complete parse of other ints (numpy): checked as one array
        import numpy as np

        arr = np.asarray(values)
        if arr.dtype.kind in "iu" and arr.ndim == 1:
            bad = np.flatnonzero((arr < 0) | (arr >= n))
            if not len(bad):
                return arr.tolist()
    out: List[Optional[int]] = []
    for i, h in enumerate(values):
        if h is None:
            out.append(None)
            continue
        if isinstance(h, bool) or not isinstance(h, int) and not hasattr(h, "__index__"):
            raise DataError(f"Doc: head {i} is {h!r}; heads must be token indices (int) or None.")
        h = int(h)
        if not 0 <= h < n:
            raise DataError(f"Doc: token {i} has head {h}, outside the doc's {n} tokens "
                            f"(heads are doc indices; a root is its own head).")
        out.append(h)
    return out


def check_cats(cats: Any) -> Dict[str, float]:
    if not isinstance(cats, dict):
        raise DataError(f'Doc: cats must be a dict of label -> score, e.g. {{"POSITIVE": 1.0}}, got {cats!r}.')
    out = {}
    for label, value in cats.items():
        if not isinstance(label, str) or not label or isinstance(value, bool) \
                or not isinstance(value, (int, float)):
            raise DataError(f"Doc: cats[{label!r}] = {value!r}; labels are strings, scores numbers.")
        out[label] = float(value)
    return out


def parse_json(doc: Any) -> Dict[str, Any]:
    """The "heads", "deps" and "cats" keys of Doc.to_json (only those that are set)."""
    out: Dict[str, Any] = {}
    if doc._heads is not None:
        out["heads"] = list(doc._heads)
    if doc._deps is not None:
        out["deps"] = list(doc._deps)
    if doc.cats:
        out["cats"] = dict(doc.cats)
    return out


def children_of(doc: Any) -> List[List[int]]:
    """Per token, its dependents in doc order (cached until the heads change)."""
    if doc._children is None:
        children: List[List[int]] = [[] for _ in range(len(doc))]
        for i, h in enumerate(doc._heads or ()):
            if h is not None and h != i:
                children[h].append(i)
        doc._children = children
    return doc._children


def subtree_of(doc: Any, i: int) -> List[int]:
    """Token i and its descendants, sorted."""
    children = children_of(doc)
    out, todo = [], [i]
    while todo:
        j = todo.pop()
        out.append(j)
        todo.extend(children[j])
    return sorted(out)


def _is_nounish(doc: Any, i: int) -> bool:
    pos = doc._pos[i] if doc._pos is not None else None
    tag = doc._tags[i] if doc._tags is not None else None
    return pos in NOUN_POS or bool(tag) and tag.startswith(NOUN_TAGS) or tag in NOUN_POS


def noun_chunks(doc: Any) -> List[Tuple[int, int]]:
    """(start, end) of each base noun phrase: a noun, pronoun or proper noun heading an
    argument (or a conjunct of one), with its determiners, adjectives and compounds."""
    if not doc.has_heads:
        raise DataError("doc.noun_chunks needs a dependency parse (token heads): run a parser first.")
    if doc._pos is None and doc._tags is None:
        raise DataError("doc.noun_chunks needs part-of-speech tags (doc.pos or doc.tags): add a tagger.")
    heads, deps = doc._heads, doc._deps or [None] * len(doc)
    children = children_of(doc)
    chunks: List[Tuple[int, int]] = []
    prev_end = 0
    for i in range(len(doc)):
        dep = (deps[i] or "").lower()
        if not _is_nounish(doc, i):
            continue
        if dep == "conj":  # a conjunct counts when the first conjunct heads a phrase
            j = i
            while (deps[j] or "").lower() == "conj" and heads[j] is not None and heads[j] != j:
                j = heads[j]
            dep = (deps[j] or "").lower()
        if dep not in NP_DEPS:
            continue
        start = i
        for c in children[i]:
            if c < i and (deps[c] or "").lower() in NP_MODIFIERS:
                start = min(start, subtree_of(doc, c)[0])
        if start < prev_end:
            continue
        chunks.append((start, i + 1))
        prev_end = i + 1
    return chunks


def sent_starts_from_heads(heads: Sequence[Optional[int]]) -> List[bool]:
    """Sentence starts of a projective parse: where the root of the tree changes."""
    import numpy as np

    from ..models.arc_eager import roots_to_sentences

    local = np.array([-1 if h is None or h == i else h for i, h in enumerate(heads)], dtype=np.int64)
    return roots_to_sentences(local).tolist()
