"""The tagger component: one label per token, written to token.tag_ (or pos_)."""
from itertools import islice
from typing import Any, Dict, List, Optional

import numpy
from thinc.api import Model

from ..errors import ConfigError, DataError
from ..settings import Fraction
from ..text.doc import Doc
from .defaults import read_default
from .trainable import TrainableComponent

DEFAULT_TAGGER = read_default("tagger")

LABEL_ATTRS = ("tag", "pos")


class TaggerComponent(TrainableComponent):
    """Softmax over the tags seen in the training data.

    attr: "tag" writes token.tag_ (scored as tag_acc); "pos" writes token.pos_
    (scored as pos_acc), e.g. to learn UPOS from a CoNLL-U corpus.
    label_smoothing: the training target gives the gold tag 1 - label_smoothing and
    shares label_smoothing among the other tags (0 = one-hot).
    """

    def __init__(self, nlp: Any, name: str, model: Model, attr: str = "tag", label_smoothing: float = 0.0):
        super().__init__(nlp, name, model)
        if attr not in LABEL_ATTRS:
            raise ConfigError(f"[components.{name}] attr = \"{attr}\" is not one of {LABEL_ATTRS}.")
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
                or not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(
                f"[components.{name}] label_smoothing = {label_smoothing!r}: use a number from 0 "
                f"(one-hot targets) up to, not including, 1 (e.g. 0.1)."
            )
        self.cfg = {"labels": [], "attr": attr, "label_smoothing": float(label_smoothing)}

    @property
    def attr(self) -> str:
        return self.cfg["attr"]

    @property
    def labels(self) -> List[str]:
        return list(self.cfg["labels"])

    @staticmethod
    def score_weights(settings: Dict[str, Any]) -> Dict[str, float]:
        """The score that picks model-best, from the component's settings."""
        return {f"{settings.get('attr', 'tag')}_acc": 1.0}

    @property
    def score_name(self) -> str:
        return next(iter(self.score_weights(self.cfg)))

    def _gold(self, doc: Doc) -> List[Optional[str]]:
        return doc.tags if self.attr == "tag" else doc.pos

    # ------------------------------------------------------------ running

    def predict(self, docs: List[Doc]) -> List[numpy.ndarray]:
        scores = self.model.predict(docs)  # [(n_tokens, n_labels)]
        lengths = [len(s) for s in scores]
        best = self.model.ops.to_numpy(self.model.ops.xp.concatenate(scores).argmax(axis=1))
        return numpy.split(best, numpy.cumsum(lengths)[:-1])

    def set_annotations(self, docs: List[Doc], guesses: List[numpy.ndarray]) -> None:
        labels = numpy.asarray(self.cfg["labels"], dtype=object)
        for doc, ids in zip(docs, guesses):
            values = labels[ids].tolist()
            if self.attr == "tag":
                doc.tags = values
            else:
                doc.pos = values

    # ------------------------------------------------------------ learning

    def initialize(self, get_examples=None, *, nlp: Any = None, labels: Optional[List[str]] = None) -> None:
        if labels is None:
            if get_examples is None:
                raise ConfigError(f"Component '{self.name}' needs examples (or labels=[...]) to learn its tags from.")
            seen = set()
            for eg in get_examples():
                seen.update(t for t in self._gold(eg.reference) if t)
            labels = sorted(seen)
        if not labels:
            raise DataError(
                f"Component '{self.name}' found no {self.attr} labels in the training data. "
                f"Check that the corpus has {'tags (CoNLL-U column 5)' if self.attr == 'tag' else 'UPOS (CoNLL-U column 4)'}."
            )
        self.cfg["labels"] = list(labels)
        self._label_ids = {label: i for i, label in enumerate(labels)}
        sample = [eg for eg in islice(get_examples(), 10)] if get_examples else []
        docs = [eg.predicted for eg in sample if len(eg.predicted)] or None
        Y = [self.model.ops.alloc2f(len(d), len(labels)) for d in docs] if docs else None
        self.model.initialize(X=docs, Y=Y)
        self.is_initialized = True

    def get_loss(self, examples: List[Any], scores: List[numpy.ndarray]):
        """Softmax cross-entropy gradient; tokens without a gold label add nothing."""
        ids = self._label_ids_map()
        targets, mask = [], []
        for eg in examples:
            for i, tag in enumerate(self._gold(eg.reference)):
                if tag:
                    if tag not in ids:
                        raise DataError(
                            f"'{self.name}': the label '{tag}' (token {i} of a doc starting "
                            f"'{' '.join(eg.reference.words[:6])}') was not seen at initialize. "
                            f"Initialize with data that has every label, or pass labels=[...]."
                        )
                    targets.append(ids[tag])
                    mask.append(True)
                else:
                    targets.append(0)
                    mask.append(False)
        xp = self.model.ops.xp
        guesses = xp.concatenate(scores)  # (n_tokens, n_labels)
        d_scores = guesses.copy()
        rows = xp.arange(len(targets))
        smoothing = self.cfg.get("label_smoothing", 0.0)
        n_labels = guesses.shape[1]
        if smoothing and n_labels > 1:
            d_scores -= smoothing / (n_labels - 1)  # the other tags' share of the target
            d_scores[rows, xp.asarray(targets)] -= 1.0 - smoothing - smoothing / (n_labels - 1)
        else:
            d_scores[rows, xp.asarray(targets)] -= 1.0
        d_scores[~xp.asarray(mask, dtype=bool)] = 0.0
        loss = float((d_scores ** 2).sum())
        lengths = numpy.cumsum([len(s) for s in scores])[:-1]
        return loss, xp.split(d_scores, lengths)

    def _label_ids_map(self) -> Dict[str, int]:
        if getattr(self, "_label_ids", None) is None or len(self._label_ids) != len(self.cfg["labels"]):
            self._label_ids = {label: i for i, label in enumerate(self.cfg["labels"])}
        return self._label_ids

    def score(self, examples: List[Any]) -> Dict[str, float]:
        correct = total = 0
        for eg in examples:
            for guess, gold in zip(self._gold(eg.predicted), self._gold(eg.reference)):
                if gold:
                    total += 1
                    correct += guess == gold
        return {self.score_name: correct / total if total else 0.0}


def make_tagger(nlp: Any, name: str, model: Model, attr: str = "tag", label_smoothing: Fraction = 0.0) -> TaggerComponent:
    return TaggerComponent(nlp, name, model, attr=attr, label_smoothing=label_smoothing)
