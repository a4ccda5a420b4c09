"""The tok2vec component: one embedding layer that several components listen to."""
from itertools import islice
from typing import Any, List

from thinc.api import Model

from ..text.doc import Doc
from .defaults import read_default
from .upstream import UpstreamComponent

DEFAULT_TOK2VEC = read_default("tok2vec")


class Tok2VecComponent(UpstreamComponent):
    """Embeds each token once per batch and shares the result with its listeners.

    Training: see `UpstreamComponent` (one forward, summed listener gradients, one
    backward). Prediction: stores each doc's (n_tokens, width) array on the doc
    (`doc.tensor`) for the listeners to read.
    """

    upstream_kind = "tok2vec"

    def predict(self, docs: List[Doc]):
        return self.model.predict(docs)  # [(n_tokens, width)]

    def listener_outputs(self, tokvecs) -> List[Any]:
        return list(tokvecs)

    def set_annotations(self, docs: List[Doc], tokvecs) -> None:
        super().set_annotations(docs, tokvecs)
        for doc, arr in zip(docs, tokvecs):
            doc.tensor = arr

    def process(self, docs: List[Doc]) -> List[Doc]:
        self.require_initialized()
        live = [doc for doc in docs if len(doc)]
        if live:
            self.set_annotations(live, self.predict(live))
        width = self.model.get_dim("nO") if self.model.has_dim("nO") else 0
        empty = [doc for doc in docs if not len(doc)]
        if empty:
            self.set_annotations(empty, [self.model.ops.alloc2f(0, width) for _ in empty])
        return docs

    def initialize(self, get_examples=None, *, nlp: Any = None) -> None:
        docs = [eg.predicted for eg in islice(get_examples(), 10)] if get_examples else None
        self.model.initialize(X=docs or None)
        self.is_initialized = True

    def complete_gradients(self, outputs: List[Any], grads: List[Any]) -> List[Any]:
        return [self.model.ops.alloc2f(*out.shape) if g is None else g for out, g in zip(outputs, grads)]


def make_tok2vec(nlp: Any, name: str, model: Model) -> Tok2VecComponent:
    return Tok2VecComponent(nlp, name, model)
