"""What every trainable component shares: a thinc model, saving and stepping."""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from thinc.api import Model, Optimizer, set_dropout_rate

from ..damage import DamagedFileError, read_json, reading, require
from ..errors import WorkbenchError
from ..models.weights_file import model_from_bytes, model_to_bytes
from ..text.doc import Doc


class TrainableComponent:
    """A component with a thinc `model`. Subclasses define predict/set_annotations
    and, to learn, `get_loss`; `cfg` holds what must be saved besides the weights."""

    def __init__(self, nlp: Any, name: str, model: Model):
        self.vocab = getattr(nlp, "vocab", nlp)  # a pipeline, or a Vocab
        self.name = name
        self.model = model
        self.cfg: Dict[str, Any] = {}
        self.is_initialized = False

    # ------------------------------------------------------------ running

    def __call__(self, doc: Doc) -> Doc:
        return self.process([doc])[0]

    def process(self, docs: List[Doc]) -> List[Doc]:
        """Annotate a batch in place and return it."""
        self.require_initialized()
        live = [doc for doc in docs if len(doc)]
        if live:
            self.set_annotations(live, self.predict(live))
        return docs

    def pipe(self, docs, batch_size: int = 256):
        batch = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self.process(batch)
                batch = []
        if batch:
            yield from self.process(batch)

    def require_initialized(self) -> None:
        if not self.is_initialized:
            raise WorkbenchError(
                f"Component '{self.name}' is not initialized. Call nlp.initialize(get_examples) "
                f"before using it, or load a trained pipeline with workbench.load()."
            )

    def predict(self, docs: List[Doc]) -> Any:
        raise NotImplementedError

    def set_annotations(self, docs: List[Doc], preds: Any) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ learning

    def update(self, examples: List[Any], *, drop: float = 0.0, losses: Optional[Dict[str, float]] = None) -> Dict[str, float]:
        """Forward, loss and backward on one batch; weights change in finish_update."""
        self.require_initialized()
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = [eg for eg in examples if len(eg.predicted)]
        if not examples:
            return losses
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores)
        backprop(d_scores)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: List[Any], scores: Any):
        raise NotImplementedError

    def finish_update(self, sgd: Optimizer) -> None:
        self.model.finish_update(sgd)

    # ------------------------------------------------------------ saving

    def to_disk(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "cfg.json").write_text(json.dumps(self.cfg, indent=2), encoding="utf8")
        (path / "model.msgpack").write_bytes(model_to_bytes(self.model))

    def from_disk(self, path: Path) -> "TrainableComponent":
        path = Path(path)
        cfg_path = path / "cfg.json"
        self.cfg.update(read_json(cfg_path, dict))
        with reading(cfg_path):  # e.g. labels that are not a list
            self._prepare_model_for_loading()
        weights = require(path / "model.msgpack")
        try:
            model_from_bytes(self.model, weights.read_bytes())
        except Exception as e:
            detail = str(e).split("\n")[0][:160]
            raise DamagedFileError(
                weights, f"the weights cannot be read into the model built from config.cfg ({type(e).__name__}: "
                f"{detail}); the file is truncated or overwritten, or config.cfg was edited after saving"
            ) from None
        self.is_initialized = True
        return self

    def _prepare_model_for_loading(self) -> None:
        """Set the dims that depend on cfg (e.g. the number of labels) before loading."""
