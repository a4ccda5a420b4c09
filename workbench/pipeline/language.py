"""The pipeline object (`nlp`): a tokenizer followed by named components."""
import copy
import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from confection import Config
from thinc.api import Optimizer

from ..allocator import keep_freed_memory
from ..config import (
    BASE_CONFIG,
    fill_config,
    interpolate,
    parse_config,
    resolve_block,
)
from ..damage import CONFIG_END, DamagedFileError, check_complete_config, damaged_pipeline, read_json, reading, require
from ..errors import ConfigError, WorkbenchError
from ..models.listener import stored_output_key
from ..models.params import iter_params, set_params, use_params
from ..registry import UnknownFunctionError, get_factory
from ..text.doc import Doc
from ..text.tokenizer import Tokenizer
from ..text.vocab import Vocab
from ..threads import apply_to_pipeline, follow_load

PIPELINE_VERSION = 1


class Pipeline:
    """`nlp`: turns text into annotated Docs, and trains its components."""

    def __init__(self, vocab: Optional[Vocab] = None, *, lang: str = "en", batch_size: int = 256):
        if lang != "en":
            raise ConfigError(f"Language '{lang}' is not supported; the workbench has an English tokenizer (lang = \"en\").")
        self.lang = lang
        self.vocab = vocab if vocab is not None else Vocab()
        self.tokenizer = Tokenizer(self.vocab)
        self.batch_size = batch_size
        self._components: List[Tuple[str, Any]] = []
        self._config = Config().from_str(BASE_CONFIG, interpolate=False)
        self._config["nlp"]["lang"] = lang
        self._config["nlp"]["batch_size"] = batch_size

    # ------------------------------------------------------------ building

    @classmethod
    def from_config(cls, config: Union[Config, str], *, vocab: Optional[Vocab] = None) -> "Pipeline":
        """Build an (uninitialized) pipeline from a config, filling defaults."""
        if isinstance(config, str):
            config = parse_config(config)
        filled = fill_config(config)
        nlp_block = filled["nlp"]
        nlp = cls(vocab, lang=nlp_block.get("lang", "en"), batch_size=nlp_block.get("batch_size", 256))
        nlp._config = filled
        resolved = interpolate(filled)
        for name in filled["nlp"]["pipeline"]:
            block = resolved["components"][name]
            nlp._build_component(name, block)
        nlp.link_listeners()
        apply_to_pipeline(nlp)  # [system] n_threads: see workbench.threads
        return nlp

    def add_pipe(self, factory: str, name: Optional[str] = None, config: Optional[Dict[str, Any]] = None) -> Any:
        """Add a component built by a registered factory, with settings from `config`."""
        name = name or factory
        if name in self.pipe_names:
            raise ConfigError(f"The pipeline already has a component named '{name}'. Pass name=... to add another.")
        block = {"factory": factory, **copy.deepcopy(config or {})}
        trial = Config(copy.deepcopy(dict(self._config)), is_interpolated=False)
        trial["components"][name] = block
        trial["nlp"]["pipeline"] = self.pipe_names + [name]
        filled = fill_config(trial)
        block = filled["components"][name]
        self._config = filled
        component = self._build_component(name, interpolate(filled)["components"][name])
        self.link_listeners()
        apply_to_pipeline(self)
        return component

    def add_component(self, name: str, component: Any) -> Any:
        """Add a component constructed in Python (its settings are not in the config)."""
        if name in self.pipe_names:
            raise ConfigError(f"The pipeline already has a component named '{name}'.")
        if hasattr(component, "name"):
            component.name = name
        self._components.append((name, component))
        self.link_listeners()
        return component

    def _build_component(self, name: str, block: Dict[str, Any]) -> Any:
        block = dict(block)
        factory = block.pop("factory")
        settings = resolve_block(block, f"components.{name}")
        component = get_factory(factory)(self, name, **settings)
        self._components.append((name, component))
        return component

    def link_listeners(self) -> None:
        """Let each embedding component find the listener layers that read from it."""
        for name, comp in self._components:
            if hasattr(comp, "find_listeners"):
                comp.find_listeners(self)

    def make_independent(self, name: str) -> Any:
        """Give `name` its own copy of the embedding it listens to.

        Each listener inside the component's model is replaced by a copy of its
        upstream's model (same weights), and the config is updated to match, so
        predictions are identical right after and the component no longer
        needs the upstream.
        """
        from ..models.copying import copy_model
        from ..models.listener import channel_of, listener_nodes

        comp = self.get_pipe(name)
        nodes = listener_nodes(comp.model) if hasattr(comp, "model") else []
        if not nodes:
            raise ConfigError(f"'{name}' has no listener layer: it is already independent.")
        for node in nodes:
            channel = channel_of(node)
            if channel.upstream is None:
                raise ConfigError(
                    f"'{name}' has a listener that is not connected to any component, so there is "
                    f"no embedding to copy. Add its upstream component first."
                )
            upstream = self.get_pipe(channel.upstream)
            if hasattr(upstream, "independent_copy"):
                replacement = upstream.independent_copy(node)
            else:
                replacement = copy_model(upstream.model)
            comp.model.replace_node(node, replacement)
            self._replace_listener_config(name, channel.upstream)
        self.link_listeners()
        return comp

    def _replace_listener_config(self, name: str, upstream: str) -> None:
        from ..models.listener import is_listener_block

        upstream_model = copy.deepcopy(dict(self._config["components"][upstream]["model"]))

        def swap(block: Dict[str, Any]) -> bool:
            for key, value in list(block.items()):
                if isinstance(value, dict):
                    if is_listener_block(value):
                        block[key] = copy.deepcopy(upstream_model)
                        return True
                    if swap(value):
                        return True
            return False

        swap(self._config["components"][name])

    def check_listeners(self) -> None:
        """Raise for a listener layer that no component in the pipeline feeds."""
        from ..models.listener import find_channels

        for name, comp in self._components:
            for channel in find_channels(comp.model) if hasattr(comp, "model") else []:
                if channel.upstream is None:
                    channel.downstream = name
                    channel.require_connected()

    # ------------------------------------------------------------ access

    @property
    def pipe_names(self) -> List[str]:
        return [name for name, _ in self._components]

    @property
    def components(self) -> List[Tuple[str, Any]]:
        return list(self._components)

    def get_pipe(self, name: str) -> Any:
        for n, comp in self._components:
            if n == name:
                return comp
        raise KeyError(f"No component '{name}' in the pipeline. Components: {self.pipe_names}.")

    def has_pipe(self, name: str) -> bool:
        return name in self.pipe_names

    def remove_pipe(self, name: str) -> Any:
        comp = self.get_pipe(name)
        self._components = [(n, c) for n, c in self._components if n != name]
        if name in self._config["components"]:
            del self._config["components"][name]
        self._config["nlp"]["pipeline"] = self.pipe_names
        self.link_listeners()
        return comp

    @property
    def config(self) -> Config:
        cfg = Config(copy.deepcopy(dict(self._config)), is_interpolated=False)
        cfg["nlp"]["pipeline"] = self.pipe_names
        return cfg

    # ------------------------------------------------------------ running

    def make_doc(self, text: str) -> Doc:
        """Tokenize only."""
        return self.tokenizer(text)

    def _ensure_doc(self, text_or_doc: Union[str, Doc]) -> Doc:
        if isinstance(text_or_doc, Doc):
            return text_or_doc
        if isinstance(text_or_doc, str):
            return self.make_doc(text_or_doc)
        raise TypeError(f"Expected a str or a Doc, got {type(text_or_doc).__name__}.")

    def __call__(self, text: Union[str, Doc], *, disable: Iterable[str] = ()) -> Doc:
        return next(iter(self.pipe([text], batch_size=1, disable=disable)))

    def pipe(self, texts: Iterable[Union[str, Doc]], *, batch_size: Optional[int] = None, disable: Iterable[str] = (),
             as_tuples: bool = False, n_process: int = 1, keep_trf_data: bool = True) -> Iterator[Doc]:
        """Process texts in batches; yields Docs in input order.

        as_tuples: `texts` are (text, context) pairs; yields (doc, context) pairs.
        n_process: run in that many worker processes (-1: one per core; see
        `pipeline.multiprocess`). keep_trf_data=False drops `doc._.trf_data` (it is
        large: with n_process > 1 it is then not sent back at all).
        """
        from .multiprocess import n_workers, pipe_in_processes, split_pairs, without_trf_data

        batch_size = batch_size or self.batch_size
        disable = set(disable)
        if as_tuples:
            texts, contexts = split_pairs(texts)
            docs = self.pipe(texts, batch_size=batch_size, disable=disable, n_process=n_process, keep_trf_data=keep_trf_data)
            return zip(docs, contexts)
        n_process = n_workers(n_process, self)
        if n_process > 1:
            return pipe_in_processes(self, texts, n_process=n_process, batch_size=batch_size, disable=sorted(disable),
                                     keep_trf_data=keep_trf_data)
        docs = self._pipe(texts, batch_size, disable)
        return docs if keep_trf_data else without_trf_data(docs)

    def _pipe(self, texts: Iterable[Union[str, Doc]], batch_size: int, disable: set) -> Iterator[Doc]:
        batch: List[Doc] = []
        for text in texts:
            batch.append(self._ensure_doc(text))
            if len(batch) >= batch_size:
                yield from self._process(batch, disable)
                batch = []
        if batch:
            yield from self._process(batch, disable)

    def _before_batch(self) -> None:
        """The process-wide policies, before each batch run or learned from."""
        keep_freed_memory()  # the next batch reuses the memory this one frees (workbench.allocator)
        follow_load(self)  # [system] n_threads = null: the cores a neighbour leaves idle now

    def _process(self, docs: List[Doc], disable) -> List[Doc]:
        self._before_batch()
        for name, comp in self._components:
            if name not in disable:
                docs = comp.process(docs)
        self._drop_stored(docs)
        return docs

    def _drop_stored(self, docs: List[Doc]) -> None:
        # What embedding components stored for their listeners lives for this pass only
        # (it may be a view of a whole batch on the GPU); doc._.trf_data and doc.tensor stay.
        for name, comp in self._components:
            if getattr(comp, "is_upstream", False):
                key = stored_output_key(name)
                for doc in docs:
                    doc.user_data.pop(key, None)

    # ------------------------------------------------------------ training

    def initialize(self, get_examples: Optional[Callable[[], Iterable[Any]]] = None, *, sgd: Optional[Optimizer] = None) -> Optimizer:
        """Initialize every component's model (labels and shapes from the examples)."""
        self.link_listeners()
        self.check_listeners()
        for name, comp in self._components:
            if hasattr(comp, "initialize"):
                comp.initialize(get_examples, nlp=self)
        self.link_listeners()
        if sgd is None:
            sgd = self.create_optimizer()
        return sgd

    def create_optimizer(self) -> Optimizer:
        resolved = interpolate(self._config)
        return resolve_block(resolved["training"]["optimizer"], "training.optimizer")

    def update(self, examples: List[Any], *, drop: float = 0.0, sgd: Optional[Optimizer] = None, losses: Optional[Dict[str, float]] = None, exclude: Iterable[str] = (), annotates: Iterable[str] = ()) -> Dict[str, float]:
        """One update: every component learns from the batch; shared layers step once.

        Embedding components run first and hand their output to their listeners; the
        gradients the listeners send back are summed and backpropagated once.
        Components in `exclude` do not learn; an excluded embedding component
        that others listen to still runs, so its listeners are fed. Components in
        `annotates` then set their predictions on `eg.predicted`, so that the components
        after them see those annotations while they learn (`sgd=None`: gradients only).
        """
        losses = {} if losses is None else losses
        if not examples:
            return losses
        self._before_batch()
        exclude, annotates = set(exclude), set(annotates)
        predicted = [eg.predicted for eg in examples]
        for name, comp in self._components:
            if hasattr(comp, "update"):
                if name not in exclude:
                    comp.update(examples, drop=drop, losses=losses)
                elif getattr(comp, "is_upstream", False):
                    comp.feed_listeners(predicted)
            if annotates and getattr(comp, "is_upstream", False) and name not in annotates:
                comp.process(predicted)  # what an annotating listener reads when it predicts
            if name in annotates:
                comp.process(predicted)
        if annotates:
            self._drop_stored(predicted)
        for name, comp in self._components:
            if getattr(comp, "is_upstream", False) and name not in exclude:
                comp.backprop_listeners(losses)
        if sgd is not None:
            for name, comp in self._components:
                if name not in exclude and hasattr(comp, "finish_update"):
                    comp.finish_update(sgd)
        return losses

    def _models(self, exclude: Iterable[str] = ()) -> List[Any]:
        exclude = set(exclude)
        return [comp.model for name, comp in self.components
                if name not in exclude and getattr(comp, "model", None) is not None]

    def use_params(self, params: Optional[Dict[Any, Any]]):
        """A context manager running with `params` (an optimizer's `averages`) swapped in;
        see `workbench.models.params.use_params`."""
        return use_params(self._models(), params)

    def set_params(self, params: Dict[Any, Any]) -> int:
        """Copy `params` into the models for good; returns how many were set."""
        return set_params(self._models(), params)

    def iter_params(self, exclude: Iterable[str] = ()) -> Iterator[Tuple[Any, str, Any]]:
        """(thinc node or torch shim, name, value) of every weight, except in `exclude`."""
        return iter_params(self._models(exclude))

    def evaluate(self, examples: List[Any], *, batch_size: Optional[int] = None) -> Dict[str, Any]:
        """Annotate copies of the reference texts, then score every component."""
        from ..scorer import score_pipeline

        return score_pipeline(self, examples, batch_size=batch_size or self.batch_size)

    # ------------------------------------------------------------ saving

    def to_disk(self, path: Union[str, Path]) -> None:
        """Write config.cfg, meta.json, the vocab and each component's weights.

        They are written into a sibling folder that then replaces `path` whole (see
        `pipeline.saving`): a save that is killed leaves the previous one as it was.
        """
        from .saving import replace_folder

        replace_folder(Path(path), self._write)

    def _write(self, path: Path) -> None:
        (path / "config.cfg").write_text(self.config.to_str() + f"\n{CONFIG_END}\n", encoding="utf8")
        meta = {"workbench_format": PIPELINE_VERSION, "lang": self.lang, "pipeline": self.pipe_names,
                "config_end": CONFIG_END}
        (path / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf8")
        self.vocab.to_disk(path / "vocab")
        self.tokenizer.to_disk(path / "tokenizer")
        for name, comp in self._components:
            if hasattr(comp, "to_disk"):
                comp.to_disk(path / name)

    def from_disk(self, path: Union[str, Path]) -> "Pipeline":
        """Read the vocab, tokenizer and component weights saved by `to_disk`; a file
        that cannot be read raises DamagedFileError naming it."""
        path = Path(path)
        self.vocab.from_disk(path / "vocab")
        self.tokenizer.from_disk(path / "tokenizer")
        for name, comp in self._components:
            if hasattr(comp, "from_disk"):
                comp.from_disk(path / name)
        self.link_listeners()
        return self


def blank(lang: str = "en") -> Pipeline:
    """An empty pipeline: tokenizer only."""
    return Pipeline(lang=lang)


def load(path: Union[str, Path]) -> Pipeline:
    """Load a pipeline saved with `nlp.to_disk(path)`. Needs no network. A file of the
    folder that is missing, empty, truncated or garbage raises DamagedPipelineError."""
    path = Path(path)
    if not (path / "config.cfg").exists() and not (path / "meta.json").exists():
        raise WorkbenchError(
            f"{path} is not a saved pipeline: it has no config.cfg. "
            f"Pass the folder written by nlp.to_disk() or `workbench train` (e.g. OUTPUT/model-best)."
        )
    with damaged_pipeline(path):
        nlp = _pipeline_from_saved_config(path)
        return nlp.from_disk(path)


def _pipeline_from_saved_config(path: Path) -> Pipeline:
    """The pipeline built from `path/config.cfg`, checked against `path/meta.json`."""
    file = path / "config.cfg"
    meta = read_json(path / "meta.json", dict)
    with reading(require(file)):
        text = file.read_text(encoding="utf8")
    try:
        config = parse_config(text, source=str(file))
    except ConfigError as err:
        line = next((f"line {i.line}: " for i in err.issues if i.line), "")
        raise DamagedFileError(file, f"{line}not a valid config; the file is truncated or overwritten") from None
    check_complete_config(file, text, marked=meta.get("config_end") == CONFIG_END)
    nlp_block = config.get("nlp", {})
    names = nlp_block.get("pipeline")
    for key, value in (("pipeline", names), ("lang", nlp_block.get("lang", "en"))):
        if value != meta.get(key, "en" if key == "lang" else None):
            raise DamagedFileError(file, f"[nlp] {key} = {value!r} but meta.json says {meta.get(key)!r}")
    for name in names:
        if name not in config.get("components", {}):
            raise DamagedFileError(file, f"no [components.{name}] block for the component '{name}'")
    try:
        with reading(file):
            return Pipeline.from_config(config)
    except DamagedFileError as err:  # a function registered by user code is not damage
        if isinstance(err.__cause__, UnknownFunctionError):
            raise err.__cause__ from None
        raise
