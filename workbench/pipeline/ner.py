"""The ner component: a transition-based BILUO entity recognizer, sets doc.ents."""
from itertools import islice
from typing import Any, Dict, List, Optional

from thinc.api import Model, set_dropout_rate

from ..errors import ConfigError, DataError
from ..models.parser import get_labels, initialize_ner
from ..scorer import score_spans
from ..text.biluo import spans_to_biluo
from ..text.doc import Doc
from .defaults import read_default
from .trainable import TrainableComponent

DEFAULT_NER = read_default("ner")


class NERComponent(TrainableComponent):
    """Greedy BILUO decoding over the batch; one action per token.

    normalize_loss: false (default) sends the gradient of the summed loss, like the
    tagger's, so that in a shared tok2vec both components weigh in; true divides it
    by the number of tokens (measured on EWT: entity F 36 shared vs 51 with false).
    """

    def __init__(self, nlp: Any, name: str, model: Model, normalize_loss: bool = False):
        super().__init__(nlp, name, model)
        self.cfg = {"labels": [], "normalize_loss": normalize_loss}

    @property
    def labels(self) -> List[str]:
        return list(get_labels(self.model)) or list(self.cfg["labels"])

    # ------------------------------------------------------------ running

    def predict(self, docs: List[Doc]):
        return self.model.predict(docs)  # per doc [(start, end, label)]

    def set_annotations(self, docs: List[Doc], entities) -> None:
        for doc, ents in zip(docs, entities):
            doc.ents = ents

    # ------------------------------------------------------------ learning

    def initialize(self, get_examples=None, *, nlp: Any = None, labels: Optional[List[str]] = None) -> None:
        if labels is None:
            if get_examples is None:
                raise ConfigError(f"Component '{self.name}' needs examples (or labels=[...]) to learn its entity labels from.")
            labels = sorted({ent.label_ for eg in get_examples() for ent in eg.reference.ents})
        if not labels:
            raise DataError(
                f"Component '{self.name}' found no entities in the training data. Check that the corpus "
                f"has entity annotation (e.g. an IOB2 column or 'ents' in annotated JSONL)."
            )
        docs = [eg.predicted for eg in islice(get_examples(), 10) if len(eg.predicted)] if get_examples else None
        initialize_ner(self.model, labels=list(labels), X=docs or None)
        self.cfg["labels"] = list(labels)
        self.is_initialized = True

    def update(self, examples: List[Any], *, drop: float = 0.0, losses: Optional[Dict[str, float]] = None):
        self.require_initialized()
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = [eg for eg in examples if len(eg.predicted)]
        if not examples:
            return losses
        known = set(self.labels)
        golds = []
        for eg in examples:
            ents = [(e.start, e.end, e.label_) for e in eg.reference.ents]
            for start, end, label in ents:
                if label not in known:
                    raise DataError(
                        f"'{self.name}': the entity label '{label}' (tokens {start}-{end} of a doc starting "
                        f"'{' '.join(eg.reference.words[:6])}') was not seen at initialize "
                        f"(labels: {sorted(known)}). Initialize with data that has every label."
                    )
            golds.append(spans_to_biluo(len(eg.reference), ents))
        set_dropout_rate(self.model, drop)
        batch, backprop = self.model.begin_update([eg.predicted for eg in examples])
        loss, d = batch.get_loss(golds, normalize=self.cfg["normalize_loss"])
        backprop(d)
        losses[self.name] += loss
        return losses

    @staticmethod
    def score_weights(settings: Dict[str, Any]) -> Dict[str, float]:
        """The score that picks model-best."""
        return {"ents_f": 1.0}

    def score(self, examples: List[Any]) -> Dict[str, Any]:
        pairs = (
            ([(e.start, e.end, e.label_) for e in eg.predicted.ents], [(e.start, e.end, e.label_) for e in eg.reference.ents])
            for eg in examples
        )
        return score_spans(pairs, prefix="ents")


def make_ner(nlp: Any, name: str, model: Model, normalize_loss: bool = False) -> NERComponent:
    return NERComponent(nlp, name, model, normalize_loss=normalize_loss)
