"""What an embedding component shared through listeners does (tok2vec, transformer).

The contract, per update (see `workbench.models.listener`):
1. `update` runs the model once on the batch and sends each listener its docs' outputs;
2. every downstream component updates, its listener sending gradients back, which are summed;
3. `backprop_listeners` (called by the pipeline) backpropagates the sum once.
When every listener's grad_factor is 0 at this step, or the component is frozen, the
model runs in inference mode and there is no backward pass at all.
"""
from typing import Any, Dict, List, Optional

from thinc.api import Model, set_dropout_rate

from ..errors import ConfigError
from ..models.listener import ListenerChannel, channel_of, listener_nodes, stored_output_key
from ..text.doc import Doc
from .trainable import TrainableComponent


class UpstreamComponent(TrainableComponent):
    """Base of components that listeners read from. Subclasses define `upstream_kind`,
    `listener_outputs(output)` (one payload per doc) and may adapt `complete_gradients`."""

    is_upstream = True
    upstream_kind = ""

    def __init__(self, nlp: Any, name: str, model: Model):
        super().__init__(nlp, name, model)
        self.channels: List[ListenerChannel] = []
        self.bound_listeners: List[Model] = []  # the listener layers of those channels
        self._pending = None  # (backprop, outputs, grads) while an update is open

    @property
    def listening_components(self) -> List[str]:
        return [ch.downstream for ch in self.channels]

    def find_listeners(self, nlp: Any) -> None:
        """Bind the listeners of later components that ask for this one (or "*")."""
        self.channels, self.bound_listeners = [], []
        names = nlp.pipe_names
        me = names.index(self.name) if self.name in names else -1
        for name, comp in nlp.components[me + 1:]:
            model = getattr(comp, "model", None)
            if model is None or comp is self:
                continue
            for node in listener_nodes(model):
                channel = channel_of(node)
                if channel.upstream in (None, self.name) and channel.matches(self.name, self.upstream_kind):
                    self._check_width(name, node)
                    channel.bind(self.name, name)
                    self.channels.append(channel)
                    self.bound_listeners.append(node)

    def _check_width(self, name: str, node: Model) -> None:
        """Give a listener without a width ours; refuse a different one, naming both."""
        if not self.model.has_dim("nO"):
            return
        width = self.model.get_dim("nO")
        if not node.has_dim("nO"):
            node.set_dim("nO", width)
        elif node.get_dim("nO") != width:
            raise ConfigError(
                f"[components.{name}] listens to '{self.name}' with width = {node.get_dim('nO')}, "
                f"but '{self.name}' outputs width {width}. Set the listener's width to {width}."
            )

    # ------------------------------------------------------------ running

    def listener_outputs(self, output: Any) -> List[Any]:
        """The model's batch output as one payload per doc, as listeners read it."""
        raise NotImplementedError

    def set_annotations(self, docs: List[Doc], output: Any) -> None:
        key = stored_output_key(self.name)
        for doc, payload in zip(docs, self.listener_outputs(output)):
            doc.user_data[key] = payload

    # ------------------------------------------------------------ learning

    def update(self, examples: List[Any], *, drop: float = 0.0, losses: Optional[Dict[str, float]] = None):
        self.require_initialized()
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        docs = [eg.predicted for eg in examples]
        factors = [ch.step() for ch in self.channels]  # every schedule moves on
        if not any(f != 0.0 for f in factors):
            self._send(docs, self.listener_outputs(self.model.predict(docs)), None)
            return losses
        set_dropout_rate(self.model, drop)
        output, backprop = self.model.begin_update(docs)
        outputs = self.listener_outputs(output)
        grads: List[Any] = [None] * len(docs)

        def accumulate(row: int, grad) -> None:
            grads[row] = self.add_gradients(grads[row], grad)

        self._pending = (backprop, outputs, grads)
        self._send(docs, outputs, accumulate)
        return losses

    def feed_listeners(self, docs: List[Doc]) -> None:
        """Frozen: give listeners this batch's output (inference mode); drop their gradients."""
        self.require_initialized()
        for channel in self.channels:
            channel.step()  # schedules move on every step, frozen or not
        self._send(docs, self.listener_outputs(self.model.predict(docs)), None)

    def _send(self, docs: List[Doc], outputs: List[Any], accumulate) -> None:
        for channel in self.channels:
            channel.send(docs, outputs, accumulate)

    def backprop_listeners(self, losses: Dict[str, float]) -> None:
        """Backpropagate the summed listener gradients once, and close the update."""
        for channel in self.channels:
            channel.clear()
        if self._pending is None:
            return
        backprop, outputs, grads = self._pending
        self._pending = None
        if all(g is None for g in grads):
            return  # no listener sent a gradient: skip the backward pass
        backprop(self.complete_gradients(outputs, grads))
        losses[self.name] = losses.get(self.name, 0.0) + float(sum((g ** 2).sum() for g in grads if g is not None))

    def add_gradients(self, total: Any, grad: Any) -> Any:
        """The sum of two listeners' gradients for one doc (`total` None: the first)."""
        return grad if total is None else total + grad

    def complete_gradients(self, outputs: List[Any], grads: List[Any]) -> List[Any]:
        """What the model's backprop takes; None means no gradient for that doc."""
        return grads

    def grad_norms(self) -> Dict[str, float]:
        """Per listening component: the norm of the gradient it sent in the last update."""
        return {ch.downstream: ch.last_grad_norm for ch in self.channels if ch.last_grad_norm is not None}

    def grad_factors(self) -> Dict[str, float]:
        """Per listening component: its grad_factor at the current step."""
        return {ch.downstream: ch.factor for ch in self.channels}
