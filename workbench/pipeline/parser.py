"""The parser component: greedy arc-eager dependency parsing; sets heads, deps and sentences.

Non-projective gold trees are lifted for training (pseudo-projective, labels
`x||y`) and predicted lifts are undone before the parse is written to the doc.
Sentence boundaries follow the parse: each root's subtree is one sentence.
"""
from collections import Counter
from itertools import islice
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from thinc.api import Model, set_dropout_rate

from ..errors import ConfigError, DataError
from ..models.arc_eager import tree_starts
from ..models.dep_parser import initialize_parser
from ..models.nonproj import DELIMITER, deprojectivize, projectivize
from ..scorer import score_deps
from ..text.doc import Doc
from .defaults import read_default
from .trainable import TrainableComponent

DEFAULT_PARSER = read_default("parser")

FALLBACK_LABEL = "dep"  # what labels rarer than min_action_freq become


class ParserComponent(TrainableComponent):
    """Dependency parser writing `doc.heads`, `doc.deps` and the sentence starts.

    min_action_freq: labels seen fewer times in the training data become "dep"
        (lifted labels `x||y` first fall back to `x`), so rare actions do not
        fragment the output layer.
    normalize_loss: as for the NER, false sends the gradient of the summed loss.
    explore: training follows the dynamic oracle; at each state, the probability of
        taking the parser's own best action (so that it learns to recover from its
        mistakes) rather than the best zero-cost one. 0 walks the oracle's paths only.
    """

    def __init__(self, nlp: Any, name: str, model: Model, min_action_freq: int = 30,
                 normalize_loss: bool = False, explore: float = 0.9):
        super().__init__(nlp, name, model)
        if model.attrs.get("state_type") != "parser":
            raise ConfigError(
                f'[components.{name}] the parser needs a model with state_type = "parser", got '
                f'{model.attrs.get("state_type")!r}: set [components.{name}.model] state_type = "parser".'
            )
        if isinstance(min_action_freq, bool) or not isinstance(min_action_freq, int) or min_action_freq < 0:
            raise ConfigError(f"[components.{name}] min_action_freq = {min_action_freq!r}: use an integer >= 0.")
        if isinstance(explore, bool) or not isinstance(explore, (int, float)) or not 0 <= explore <= 1:
            raise ConfigError(f"[components.{name}] explore = {explore!r}: use a probability from 0 to 1.")
        self.explore = float(explore)  # a training setting: from the config, not saved with the weights
        self.cfg = {"labels": [], "root_label": "root", "min_action_freq": min_action_freq,
                    "normalize_loss": normalize_loss, "label_map": {}}

    @property
    def labels(self) -> List[str]:
        return [x for x in self.cfg["labels"] if DELIMITER not in x]

    # ------------------------------------------------------------ running

    def predict(self, docs: List[Doc]):
        return self.model.predict(docs)  # (heads, label ids) per doc, local

    def set_annotations(self, docs: List[Doc], parses) -> None:
        """Heads, deps and sentence starts of the whole batch at once (numpy over all
        tokens, one list each), then each doc takes its slices."""
        if not docs:
            return
        local_heads, label_ids = parses
        lengths = np.array([len(h) for h in local_heads], dtype=np.int64)
        ends = np.cumsum(lengths).tolist()
        heads = np.concatenate(local_heads)  # (N,) local, -1 = root
        ids = np.concatenate(label_ids)
        names = np.array(self.cfg["labels"] + [self.cfg["root_label"]], dtype=object)  # id -1: the root
        labels = names[ids].tolist()
        lifted = np.array([DELIMITER in x for x in self.cfg["labels"]] + [False])[ids]
        if lifted.any():
            for d in np.unique(np.searchsorted(ends, np.flatnonzero(lifted), side="right")).tolist():
                a, b = ends[d] - int(lengths[d]), ends[d]
                heads[a:b], labels[a:b] = deprojectivize(heads[a:b], labels[a:b])
        offsets = np.repeat(np.array(ends) - lengths, lengths)  # (N,) each token's doc start
        starts = tree_starts(np.where(heads >= 0, heads + offsets, -1)).tolist()  # no arc crosses a doc edge
        heads = np.where(heads >= 0, heads, np.arange(len(heads)) - offsets).tolist()  # a root is its own head
        a = 0
        for doc, b in zip(docs, ends):
            doc._set_parse(heads[a:b], labels[a:b], starts[a:b])  # a decoded forest: no checks needed
            a = b

    # ------------------------------------------------------------ learning

    def _gold_parse(self, doc: Doc, where: str) -> Optional[Tuple[np.ndarray, List[str]]]:
        """Projective local heads (-1: root) and labels of a gold doc; None without a parse."""
        if not doc.has_heads:
            return None
        heads, deps = doc.heads, doc.deps
        missing = [i for i, h in enumerate(heads) if h is None]
        if missing:
            raise DataError(f"'{self.name}': {where} has heads for some tokens but not token "
                            f"{missing[0]}; give every token a head (a root is its own head).")
        local = np.array([-1 if h == i else h for i, h in enumerate(heads)], dtype=np.int64)
        labels = [d or FALLBACK_LABEL for d in deps]
        try:
            return projectivize(local, labels)
        except DataError as e:
            raise DataError(f"'{self.name}': {where}: {e}") from None

    def initialize(self, get_examples=None, *, nlp: Any = None, labels: Optional[List[str]] = None) -> None:
        if labels is None:
            if get_examples is None:
                raise ConfigError(f"Component '{self.name}' needs examples (or labels=[...]) to learn its labels from.")
            counts: Counter = Counter()
            roots: Counter = Counter()
            for k, eg in enumerate(get_examples()):
                gold = self._gold_parse(eg.reference, f"training doc {k}")
                if gold is None:
                    continue
                heads, labs = gold
                counts.update(lab for h, lab in zip(heads.tolist(), labs) if h >= 0)
                roots.update(lab for h, lab in zip(heads.tolist(), labs) if h < 0)
            if not counts:
                raise DataError(
                    f"Component '{self.name}' found no dependency arcs in the training data. Check "
                    f"that the corpus has heads (CoNLL-U columns 7 and 8, or 'heads' in annotated JSONL)."
                )
            self.cfg["label_map"] = label_map(counts, self.cfg["min_action_freq"])
            labels = sorted(set(self.cfg["label_map"].values()))
            self.cfg["root_label"] = roots.most_common(1)[0][0] if roots else "root"
        docs = [eg.predicted for eg in islice(get_examples(), 10) if len(eg.predicted)] if get_examples else None
        initialize_parser(self.model, list(labels), X=docs or None)
        self.cfg["labels"] = list(labels)
        self.is_initialized = True

    def update(self, examples: List[Any], *, drop: float = 0.0, losses: Optional[Dict[str, float]] = None):
        self.require_initialized()
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        index = {x: k for k, x in enumerate(self.cfg["labels"])}
        mapping = self.cfg["label_map"]
        docs, golds = [], []
        for eg in examples:
            if not len(eg.predicted):
                continue
            gold = self._gold_parse(eg.reference, f"the doc starting '{' '.join(eg.reference.words[:6])}'")
            if gold is None:
                continue
            heads, labs = gold
            ids = np.full(len(heads), -1, dtype=np.int64)
            for i, lab in enumerate(labs):
                if heads[i] < 0:
                    continue
                lab = mapping.get(lab, lab)
                k = index.get(lab, index.get(lab.partition(DELIMITER)[0], index.get(FALLBACK_LABEL)))
                if k is None:
                    raise DataError(
                        f"'{self.name}': the dependency label '{lab}' (token {i} of a doc starting "
                        f"'{' '.join(eg.reference.words[:6])}') was not seen at initialize. "
                        f"Initialize with data that has every label."
                    )
                ids[i] = k
            docs.append(eg.predicted)
            golds.append((heads, ids))
        if not docs:
            return losses
        set_dropout_rate(self.model, drop)
        batch, backprop = self.model.begin_update(docs)
        loss, d = batch.get_loss(golds, normalize=self.cfg["normalize_loss"], explore=self.explore)
        backprop(d)
        losses[self.name] += loss
        return losses

    def score(self, examples: List[Any]) -> Dict[str, Any]:
        return score_deps(examples)


def label_map(counts: Counter, min_freq: int) -> Dict[str, str]:
    """Each training label -> the label the model learns (rare ones fall back)."""
    base_counts: Counter = Counter()
    for lab, c in counts.items():
        base_counts[lab.partition(DELIMITER)[0]] += c
    out = {}
    for lab, c in counts.items():
        if c >= min_freq:
            out[lab] = lab
        else:
            base = lab.partition(DELIMITER)[0]
            out[lab] = base if base_counts[base] >= min_freq else FALLBACK_LABEL
    return out


def make_parser(nlp: Any, name: str, model: Model, min_action_freq: int = 30,
                normalize_loss: bool = False, explore: float = 0.9) -> ParserComponent:
    return ParserComponent(nlp, name, model, min_action_freq=min_action_freq, normalize_loss=normalize_loss,
                           explore=explore)
