"""Listener layers: read the output an upstream embedding component computed.

The contract (the same for Tok2VecListener and TransformerListener):
- During `nlp.update`, the upstream component runs first on the batch and calls
  `channel.send(docs, outputs, accumulate)`. A listener inside a downstream
  model then asks `channel.receive(docs)` for the rows of *its* docs: they
  must be docs of that same batch (the same Doc objects, in any order or a
  subset). Its backprop passes gradients to `accumulate`, which sums them.
- At prediction time the upstream stores its output on each doc, and the
  listener reads it from there.
Anything else raises ListenerError, never zeros.
"""
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy

from ..errors import ListenerError
from ..text.doc import Doc


# The key under which an upstream component stores its per-doc output on doc.user_data.
def stored_output_key(upstream: str):
    return ("workbench.upstream_output", upstream)


class ListenerChannel:
    """The mailbox between one upstream component and one listener layer."""

    def __init__(self, kind: str, upstream: str):
        self.kind = kind            # "tok2vec" or "transformer": which upstreams may bind
        self.requested = upstream   # upstream name from the config, or "*"
        self.upstream: Optional[str] = None    # bound upstream component name
        self.downstream: Optional[str] = None  # component whose model holds the listener
        self._docs: Optional[List[Doc]] = None
        self._rows: Dict[int, int] = {}
        self._outputs: Optional[List[Any]] = None
        self._accumulate: Optional[Callable[[int, Any], None]] = None
        self.last_grad_norm: Optional[float] = None
        # (advance: bool) -> factor; set by listeners that weight their gradient
        self.grad_factor_source: Optional[Callable[[bool], float]] = None

    def step_grad_factor(self) -> float:
        """Upstream, once per update: move the listener's grad_factor to this step."""
        return self.grad_factor_source(True) if self.grad_factor_source else 1.0

    def current_grad_factor(self) -> float:
        return self.grad_factor_source(False) if self.grad_factor_source else 1.0

    def matches(self, upstream_name: str, kind: str) -> bool:
        return kind == self.kind and self.requested in ("*", upstream_name)

    def bind(self, upstream: str, downstream: str) -> None:
        self.upstream, self.downstream = upstream, downstream

    def send(self, docs: List[Doc], outputs: List[Any], accumulate: Optional[Callable[[int, Any], None]]) -> None:
        """Upstream: offer this batch's outputs; `accumulate(row, grad)` sums gradients
        (None when the upstream is frozen: gradients are dropped)."""
        self._docs = docs
        self._rows = {id(doc): i for i, doc in enumerate(docs)}
        self._outputs = outputs
        self._accumulate = accumulate

    def clear(self) -> None:
        self._docs, self._rows, self._outputs, self._accumulate = None, {}, None, None

    def receive(self, docs: Sequence[Doc]):
        """Listener: the outputs for `docs`, and a callback taking their gradients."""
        who = self.downstream or "a component"
        if self.upstream is None:
            raise ListenerError(
                f"The {self.kind} listener in '{who}' (upstream = \"{self.requested}\") is not "
                f"connected: the pipeline has no {self.kind} component of that name before it. "
                f"Add one, or make '{who}' independent with nlp.make_independent('{who}')."
            )
        if self._outputs is None:
            raise ListenerError(
                f"The listener in '{who}' received nothing from '{self.upstream}' for this batch: "
                f"'{self.upstream}' did not run on it. Run nlp.update with '{self.upstream}' in the "
                f"pipeline (a frozen upstream still feeds its listeners), or make '{who}' independent "
                f"with nlp.make_independent('{who}')."
            )
        try:
            rows = [self._rows[id(doc)] for doc in docs]
        except KeyError:
            raise ListenerError(
                f"The listener in '{who}' was called on docs that '{self.upstream}' did not "
                f"process in this update. Listeners need the same batch (the same Doc objects) "
                f"that their upstream saw: pass the same examples to every component, e.g. one "
                f"nlp.update(examples) call, rather than separate batches."
            ) from None
        outputs = [self._outputs[r] for r in rows]
        accumulate = self._accumulate

        def backprop(grads: List[Any]) -> None:
            norm_sq = 0.0
            for r, g in zip(rows, grads):
                if g is None:  # nothing to send (e.g. grad_factor 0)
                    continue
                norm_sq += float(_sum_sq(g))
                if accumulate is not None:
                    accumulate(r, g)
            self.last_grad_norm = norm_sq ** 0.5

        return outputs, backprop

    def read_stored(self, docs: Sequence[Doc]) -> List[Any]:
        """Prediction: the outputs the upstream stored on each doc."""
        who = self.downstream or "a component"
        if self.upstream is None:
            return self.receive(docs)  # raises the "not connected" error
        key = stored_output_key(self.upstream)
        outputs = []
        for doc in docs:
            value = doc.user_data.get(key)
            if value is None:
                raise ListenerError(
                    f"'{who}' listens to '{self.upstream}', but '{self.upstream}' has not run on this "
                    f"doc. Keep '{self.upstream}' enabled and before '{who}' in the pipeline, or "
                    f"make '{who}' independent with nlp.make_independent('{who}')."
                )
            outputs.append(value)
        return outputs


def _sum_sq(g: Any) -> float:
    if hasattr(g, "dataXd"):  # Ragged
        g = g.dataXd
    if isinstance(g, numpy.ndarray):
        return float((g.astype("float64") ** 2).sum())
    return float((g ** 2).sum())


def find_channels(model) -> List[ListenerChannel]:
    """Every listener channel inside a thinc model tree."""
    return [node.attrs["listener_channel"] for node in model.walk() if "listener_channel" in node.attrs]


def listener_nodes(model) -> list:
    return [node for node in model.walk() if "listener_channel" in node.attrs]
