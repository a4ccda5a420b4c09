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

The channel also owns the listener's `grad_factor` (a constant or a schedule):
the upstream calls `step()` once per update, the listener reads `factor`.
"""
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

import numpy
from thinc.api import Model

from ..errors import ConfigError, ListenerError
from ..text.doc import Doc

CHANNEL = "listener_channel"  # the attrs key of a listener node


def is_listener(node: Model) -> bool:
    """Whether a thinc node is a listener layer (it holds a ListenerChannel)."""
    return CHANNEL in node.attrs


def channel_of(node: Model) -> "ListenerChannel":
    return node.attrs[CHANNEL]


def listener_architecture(fn: Callable) -> Callable:
    """Mark an architecture function as building a listener layer."""
    fn.builds_listener = True
    return fn


def is_listener_block(block: Any) -> bool:
    """Whether a config block (`{"@architectures": ...}`) builds a listener layer."""
    from ..registry import registry

    if not isinstance(block, dict) or "@architectures" not in block:
        return False
    try:
        fn = registry.architectures.get(str(block["@architectures"]))
    except Exception:  # unknown names are reported where the block is resolved
        return False
    return getattr(fn, "builds_listener", False)



# The key under which an upstream component stores its per-doc output on doc.user_data.
def stored_output_key(upstream: str):
    return ("workbench.upstream_output", upstream)


class ListenerChannel:
    """The mailbox between one upstream component and one listener layer."""

    def __init__(self, kind: str, upstream: str, grad_factor: Union[float, Iterator[float]] = 1.0):
        self.kind = kind            # "tok2vec" or "transformer": which upstreams may bind
        self.requested = upstream   # upstream name from the config, or "*"
        self.upstream: Optional[str] = None    # bound upstream component name
        self.downstream: Optional[str] = None  # component whose model holds the listener
        self._docs: Optional[List[Doc]] = None
        self._rows: Dict[int, int] = {}
        self._outputs: Optional[List[Any]] = None
        self._accumulate: Optional[Callable[[int, Any], None]] = None
        self.last_grad_norm: Optional[float] = None
        self.grad_factor = grad_factor

    @property
    def grad_factor(self) -> Union[float, Iterator[float]]:
        """The setting: a number, or a schedule whose next value is taken every step."""
        return self._grad_factor

    @grad_factor.setter
    def grad_factor(self, value: Union[float, Iterator[float]]) -> None:
        is_constant = isinstance(value, (int, float))
        if is_constant and value < 0:
            raise ConfigError(f"grad_factor = {value} must be >= 0.")
        self._grad_factor = value
        self._factor: Optional[float] = float(value) if is_constant else None

    @property
    def factor(self) -> float:
        """The grad_factor at the current step (a schedule's first value before any step)."""
        if self._factor is None:
            self.step()
        return self._factor

    def step(self) -> float:
        """Upstream, once per update: move a scheduled grad_factor on to this step."""
        if isinstance(self._grad_factor, (int, float)):
            return self._factor
        value = float(next(self._grad_factor))
        if value < 0:
            raise ConfigError(f"The grad_factor schedule gave {value}; factors must be >= 0.")
        self._factor = value
        return value

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

    def require_connected(self) -> None:
        """Raise the "not connected" ListenerError unless an upstream is bound."""
        if self.upstream is None:
            who = self.downstream or "a component"
            raise ListenerError(
                f"The {self.kind} listener in '{who}' (upstream = \"{self.requested}\") is not "
                f"connected: the pipeline has no {self.kind} component of that name before it. "
                f"Add one, or make '{who}' independent with nlp.make_independent('{who}')."
            )

    def receive(self, docs: Sequence[Doc]):
        """Listener: the outputs for `docs`, and a callback taking their gradients."""
        self.require_connected()
        who = self.downstream or "a component"
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
        self.require_connected()
        who = self.downstream or "a component"
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
    return [channel_of(node) for node in model.walk() if is_listener(node)]


def listener_nodes(model) -> list:
    return [node for node in model.walk() if is_listener(node)]
