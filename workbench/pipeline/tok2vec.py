"""The tok2vec component: one embedding layer that several components listen to."""
from itertools import islice
from typing import Any, Dict, List, Optional

from thinc.api import Model, set_dropout_rate

from ..errors import ConfigError
from ..models.listener import ListenerChannel, find_channels, stored_output_key
from ..text.doc import Doc
from .trainable import TrainablePipe

DEFAULT_TOK2VEC = """
[model]
@architectures = "workbench.HashEmbedCNN.v1"
width = 96
depth = 4
embed_size = 2000
window_size = 1
maxout_pieces = 3
subword_features = true
pretrained_vectors = null
"""


class Tok2Vec(TrainablePipe):
    """Embeds each token once per batch and shares the result with its listeners.

    Training: `update` runs the model and sends its output to every listener;
    `backprop_listeners` (called by the pipeline after all components updated)
    backpropagates the sum of the gradients they sent back, once.
    Prediction: stores each doc's (n_tokens, width) array on the doc.
    """

    is_upstream = True
    upstream_kind = "tok2vec"

    def __init__(self, nlp: Any, name: str, model: Model):
        super().__init__(nlp, name, model)
        self.channels: List[ListenerChannel] = []
        self._pending = None  # (backprop, [d_output per doc]) while an update is open

    @property
    def listening_components(self) -> List[str]:
        return [ch.downstream for ch in self.channels]

    def find_listeners(self, nlp: Any) -> None:
        """Bind the listeners of later components that ask for this component (or "*")."""
        self.channels = []
        names = nlp.pipe_names
        me = names.index(self.name) if self.name in names else -1
        for name, comp in nlp.components[me + 1:]:
            model = getattr(comp, "model", None)
            if model is None or comp is self:
                continue
            for channel in find_channels(model):
                if channel.upstream not in (None, self.name):
                    continue  # already bound to a nearer upstream
                if channel.matches(self.name, self.upstream_kind):
                    self._check_width(name, channel, model)
                    channel.bind(self.name, name)
                    self.channels.append(channel)

    def _check_width(self, name: str, channel: ListenerChannel, model: Model) -> None:
        mine = self.model.maybe_get_dim("nO") if self.model.has_dim("nO") else None
        for node in model.walk():
            if node.attrs.get("listener_channel") is channel and node.has_dim("nO") and mine:
                theirs = node.get_dim("nO")
                if theirs != mine:
                    raise ConfigError(
                        f"[components.{name}] listens to '{self.name}' with width = {theirs}, "
                        f"but '{self.name}' outputs width {mine}. Set the listener's width to {mine} "
                        f"(e.g. width = ${{components.{self.name}.model.width}})."
                    )

    # ------------------------------------------------------------ running

    def predict(self, docs: List[Doc]):
        return self.model.predict(docs)  # [(n_tokens, width)]

    def set_annotations(self, docs: List[Doc], tokvecs) -> None:
        key = stored_output_key(self.name)
        for doc, arr in zip(docs, tokvecs):
            doc.tensor = arr
            doc.user_data[key] = arr

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

    # ------------------------------------------------------------ learning

    def initialize(self, get_examples=None, *, nlp: Any = None) -> None:
        docs = [eg.predicted for eg in islice(get_examples(), 10)] if get_examples else None
        self.model.initialize(X=docs or None)
        self.is_initialized = True

    def update(self, examples: List[Any], *, drop: float = 0.0, losses: Optional[Dict[str, float]] = None):
        self.require_initialized()
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        docs = [eg.predicted for eg in examples]
        set_dropout_rate(self.model, drop)
        tokvecs, backprop = self.model.begin_update(docs)
        d_tokvecs = [self.model.ops.alloc2f(*t.shape) for t in tokvecs]

        def accumulate(row: int, grad) -> None:
            d_tokvecs[row] += grad

        self._pending = (backprop, d_tokvecs)
        for channel in self.channels:
            channel.send(docs, tokvecs, accumulate)
        return losses

    def feed_listeners(self, docs: List[Doc]) -> None:
        """Frozen: give listeners this batch's output, and drop their gradients."""
        self.require_initialized()
        tokvecs = self.model.predict(docs)
        for channel in self.channels:
            channel.send(docs, tokvecs, None)

    def backprop_listeners(self, losses: Dict[str, float]) -> None:
        """Backpropagate the summed listener gradients once; close the update."""
        for channel in self.channels:
            channel.clear()
        if self._pending is None:
            return
        backprop, d_tokvecs = self._pending
        self._pending = None
        backprop(d_tokvecs)
        losses[self.name] = losses.get(self.name, 0.0) + float(sum((d ** 2).sum() for d in d_tokvecs))

    def grad_norms(self) -> Dict[str, float]:
        """Per listening component: the norm of the gradient it sent in the last update."""
        return {ch.downstream: ch.last_grad_norm for ch in self.channels if ch.last_grad_norm is not None}


def make_tok2vec(nlp: Any, name: str, model: Model) -> Tok2Vec:
    return Tok2Vec(nlp, name, model)
