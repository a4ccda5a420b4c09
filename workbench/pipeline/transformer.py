"""The transformer component: runs a HF encoder once per batch, shares it with listeners,
and stores its output on `doc._.trf_data` through an annotation setter."""
import json
from pathlib import Path
from typing import Any, Callable, List, Optional

from thinc.api import Model

from ..damage import DamagedFileError, read_json
from ..errors import ConfigError
from ..models.transformer.annotation_setters import trf_data_setter
from ..models.transformer.data import FullTransformerBatch
from ..models.transformer.model import transformer_from_disk, transformer_to_disk
from ..settings import PositiveInt
from ..text.doc import Doc
from .defaults import read_default
from .upstream import UpstreamComponent

DEFAULT_TRANSFORMER = read_default("transformer")

class TransformerComponent(UpstreamComponent):
    """A transformer shared by listener layers in later components.

    max_batch_items: the most padded wordpiece positions run through the model at
    once (not tokens), so one long document cannot blow up memory.
    annotation_setter: `(docs, FullTransformerBatch) -> None`; the default stores
    `doc._.trf_data`; `null_annotation_setter` drops it to save memory.
    Training: see `UpstreamComponent`; with every listener's grad_factor at 0, or frozen,
    the transformer runs in inference mode and skips its backward pass.
    """

    upstream_kind = "transformer"

    def __init__(self, vocab: Any, model: Model, annotation_setter: Optional[Callable] = None,
                 max_batch_items: int = 4096, name: str = "transformer"):
        super().__init__(vocab, name, model)
        if not isinstance(max_batch_items, int) or max_batch_items < 1:
            raise ConfigError(f"[components.{name}] max_batch_items = {max_batch_items!r}: use a positive number of wordpieces.")
        self.annotation_setter = annotation_setter or trf_data_setter
        self.model.attrs["max_batch_items"] = max_batch_items
        self.cfg = {"max_batch_items": max_batch_items}

    @property
    def max_batch_items(self) -> int:
        return self.model.attrs["max_batch_items"]

    def independent_copy(self, listener: Model) -> Model:
        raise ConfigError(
            f"Copying a transformer into each listening component is not supported: it would duplicate "
            f"the whole encoder. Keep '{self.name}' shared, or configure the component with its own "
            f"TransformerModel."
        )

    def predict(self, docs: List[Doc]) -> FullTransformerBatch:
        return self.model.predict(docs)

    def find_listeners(self, nlp: Any) -> None:
        """Bind the listeners, then tell each how many layers there are and keep every
        hidden state in the output only when some listener mixes layers."""
        super().find_listeners(nlp)
        self._configure_listeners()

    def _configure_listeners(self) -> None:
        n_layers = self.model.attrs["n_layers"]
        mixing = [node for node in self.bound_listeners if node.attrs.get("layer_mix")]
        for node in mixing:
            if n_layers is not None and not node.has_dim("nL"):
                node.set_dim("nL", n_layers)
        self.model.attrs["listeners_need_layers"] = bool(mixing)

    def add_gradients(self, total: Any, grad: Any) -> Any:
        # a mixing listener sends (n_layers, n_rows, width), the others (n_rows, width)
        if total is None:
            return grad
        if total.ndim == grad.ndim:
            return total + grad
        every, last = (total, grad) if total.ndim == 3 else (grad, total)
        every = every.copy()
        every[-1] += last
        return every

    def listener_outputs(self, batch: FullTransformerBatch) -> List[Any]:
        """Per doc (last hidden state rows, alignment, every hidden state's rows or None)."""
        return [(batch.doc_rows(d), batch.align[d], batch.doc_layers(d)) for d in range(batch.n_docs)]

    def set_annotations(self, docs: List[Doc], batch: FullTransformerBatch) -> None:
        super().set_annotations(docs, batch)
        self.annotation_setter(docs, batch)

    def process(self, docs: List[Doc]) -> List[Doc]:
        self.require_initialized()
        if docs:
            self.set_annotations(docs, self.predict(docs))
        return docs

    def initialize(self, get_examples=None, *, nlp: Any = None) -> None:
        self.model.initialize()
        self._configure_listeners()  # the layer count is known once the weights are loaded
        self.is_initialized = True

    def to_disk(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "cfg.json").write_text(json.dumps(self.cfg, indent=2), encoding="utf8")
        transformer_to_disk(self.model, path / "model")

    def from_disk(self, path: Path) -> "TransformerComponent":
        cfg_path = Path(path) / "cfg.json"
        cfg = read_json(cfg_path, dict)
        if not isinstance(cfg.get("max_batch_items", 1), int) or cfg.get("max_batch_items", 1) < 1:
            raise DamagedFileError(cfg_path, f"max_batch_items = {cfg['max_batch_items']!r} is not a positive integer")
        transformer_from_disk(self.model, Path(path) / "model")
        self.is_initialized = True
        return self


def make_transformer(nlp: Any, name: str, model: Model, annotation_setter: Callable = trf_data_setter,
                     max_batch_items: PositiveInt = 4096) -> TransformerComponent:
    return TransformerComponent(nlp.vocab, model, annotation_setter=annotation_setter, max_batch_items=max_batch_items, name=name)
