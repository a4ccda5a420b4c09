"""The textcat components: one score per label for the whole doc, written to doc.cats.

`textcat`: exclusive classes (a softmax; each gold doc has exactly one positive label).
`textcat_multilabel`: independent labels (a sigmoid each; a label is on when its
score is >= threshold; labels a gold doc leaves out are not trained on).
"""
from itertools import islice
from typing import Any, Dict, List, Optional

import numpy
from thinc.api import Model

from ..errors import ConfigError, DataError
from ..scorer import score_cats
from ..settings import Probability
from ..text.doc import Doc
from .defaults import read_default
from .trainable import TrainableComponent

DEFAULT_TEXTCAT = read_default("textcat")
DEFAULT_TEXTCAT_MULTILABEL = read_default("textcat_multilabel")

GOLD_POSITIVE = 0.5  # a gold value >= this is a positive label


class TextCatComponent(TrainableComponent):
    """Doc classifier over the labels seen in the training data's `cats`.

    multi_label: false for exclusive classes (the model's exclusive_classes must be
    true), true for independent labels (exclusive_classes false).
    threshold: multi-label only, the score from which a label counts as predicted
    when scoring (doc.cats always holds every label's score).
    """

    def __init__(self, nlp: Any, name: str, model: Model, *, multi_label: bool, threshold: float = 0.5):
        super().__init__(nlp, name, model)
        activation = model.attrs.get("activation", "missing")
        if activation == "missing":
            raise ConfigError(f"[components.{name}.model] is not a text classification model: use "
                              f"workbench.TextCatEnsemble.v1, workbench.TextCatBOW.v1 or workbench.TextCatReduce.v1.")
        if activation is None:
            raise ConfigError(f"[components.{name}.model] no_output_layer = true gives logits, but '{name}' "
                              f"needs probabilities: set no_output_layer = false.")
        if model.attrs["exclusive_classes"] == multi_label:
            want = "false" if multi_label else "true"
            raise ConfigError(
                f"[components.{name}.model] exclusive_classes = {str(multi_label).lower()}, but "
                f"'{name}' is {'multi-label' if multi_label else 'exclusive'}: set exclusive_classes = {want} "
                f"(in the linear_model block for an ensemble)"
                + ("." if multi_label else ", or use the textcat_multilabel factory.")
            )
        self.cfg = {"labels": [], "multi_label": bool(multi_label), "threshold": float(threshold)}

    @property
    def labels(self) -> List[str]:
        return list(self.cfg["labels"])

    @property
    def multi_label(self) -> bool:
        return self.cfg["multi_label"]

    @staticmethod
    def score_weights(settings: Dict[str, Any]) -> Dict[str, float]:
        """The scores it reports: cats_score (the macro F) picks model-best."""
        return {"cats_score": 1.0, "cats_accuracy": 0.0, "cats_macro_f": 0.0, "cats_micro_f": 0.0}

    # ------------------------------------------------------------ running

    def predict(self, docs: List[Doc]) -> numpy.ndarray:
        return self.model.ops.to_numpy(self.model.predict(docs))  # (n_docs, n_labels)

    def set_annotations(self, docs: List[Doc], scores: numpy.ndarray) -> None:
        labels = self.cfg["labels"]
        for doc, row in zip(docs, scores.tolist()):
            doc.cats.update(zip(labels, row))

    # ------------------------------------------------------------ learning

    def initialize(self, get_examples=None, *, nlp: Any = None, labels: Optional[List[str]] = None) -> None:
        if labels is None:
            if get_examples is None:
                raise ConfigError(f"Component '{self.name}' needs examples (or labels=[...]) to learn its labels from.")
            seen = set()
            for eg in get_examples():
                seen.update(eg.reference.cats)
            labels = sorted(seen)
        if not labels:
            raise DataError(
                f"Component '{self.name}' found no text categories in the training data. Give the docs "
                f'"cats" (e.g. {{"POSITIVE": 1.0, "NEGATIVE": 0.0}} in annotated JSONL, or convert '
                f"CoNLL-U with --cats-from-sent-id)."
            )
        if not self.multi_label and len(labels) < 2:
            raise DataError(f"'{self.name}' found one label only ({labels[0]!r}); exclusive classes need at "
                            f"least two. Use textcat_multilabel for a yes/no label.")
        self.cfg["labels"] = list(labels)
        sample = [eg for eg in islice(get_examples(), 10) if len(eg.predicted)] if get_examples else []
        docs = [eg.predicted for eg in sample] or None
        Y = self.model.ops.alloc2f(len(docs), len(labels)) if docs else self.model.ops.alloc2f(1, len(labels))
        self.model.initialize(X=docs, Y=Y)
        self.is_initialized = True

    def get_loss(self, examples: List[Any], scores):
        """Cross-entropy gradient with respect to the logits: probs - truth, (n_docs, n_labels);
        docs without gold cats (and, multi-label, labels a doc leaves out) add nothing."""
        truth, mask = self._truth(examples)
        xp = self.model.ops.xp
        d_scores = (scores - xp.asarray(truth)) * xp.asarray(mask)
        return float((d_scores ** 2).sum()), d_scores

    def _truth(self, examples: List[Any]):
        labels = self.cfg["labels"]
        index = {label: k for k, label in enumerate(labels)}
        truth = numpy.zeros((len(examples), len(labels)), dtype="float32")
        mask = numpy.zeros_like(truth)
        for i, eg in enumerate(examples):
            cats = eg.reference.cats
            if not cats:
                continue
            unseen = [x for x in cats if x not in index]
            if unseen:
                raise DataError(
                    f"'{self.name}': the label {unseen[0]!r} ({_which(eg)}) was not seen at initialize "
                    f"(labels: {labels}). Initialize with data that has every label, or pass labels=[...]."
                )
            for label, value in cats.items():
                truth[i, index[label]] = value
            if self.multi_label:
                mask[i, [index[x] for x in cats]] = 1.0
            else:
                positive = [x for x, v in cats.items() if v >= GOLD_POSITIVE]
                if len(positive) != 1:
                    raise DataError(
                        f"'{self.name}' has exclusive classes, but {_which(eg)} has "
                        f"{len(positive)} positive labels ({positive or 'none'} in {dict(cats)}): give "
                        f"each doc exactly one label with 1.0, or use textcat_multilabel."
                    )
                truth[i] = 0.0
                truth[i, index[positive[0]]] = 1.0
                mask[i] = 1.0
        return truth, mask

    def score(self, examples: List[Any]) -> Dict[str, Any]:
        return score_cats(examples, self.cfg["labels"], multi_label=self.multi_label,
                          threshold=self.cfg["threshold"])


def _which(eg: Any) -> str:
    words = eg.reference.words
    return f"the doc starting '{' '.join(words[:6])}{' ...' if len(words) > 6 else ''}'"


def make_textcat(nlp: Any, name: str, model: Model) -> TextCatComponent:
    return TextCatComponent(nlp, name, model, multi_label=False)


def make_textcat_multilabel(nlp: Any, name: str, model: Model, threshold: Probability = 0.5) -> TextCatComponent:
    return TextCatComponent(nlp, name, model, multi_label=True, threshold=threshold)
