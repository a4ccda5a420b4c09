"""What `train` would refuse, found in the built pipeline before any data or weights are read.

`Pipeline.from_config` builds the components, their models, span getters and
listeners without loading a transformer's weights or any vectors. On that pipeline
`pipeline_issues(nlp)` finds, as ConfigIssues at the config block each comes from:

- a listener that no component before it feeds;
- a transformer `name` that is neither a local model folder nor an installed package;
- a transformer listener's `pooling` that cannot pool wordpiece rows into one row per token;
- an [initialize] vectors or init_tok2vec path that does not exist.

`check_pipeline(nlp)` raises them all in one ConfigError; `train` and `debug config` call it.
"""
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from .config import interpolate
from .config_issues import get_section
from .errors import ConfigError, ConfigIssue, ListenerError
from .models.listener import channel_of, listener_nodes
from .models.tok2vec_listener import Tok2VecListener
from .models.transformer.hf_loading import resolve_model_path
from .models.transformer.listener import TransformerListener, pooling_problem
from .models.transformer.model import TransformerModel
from .registry import registry
from .settings import raise_issues

LISTENER_KINDS = {Tok2VecListener: "tok2vec", TransformerListener: "transformer"}


def check_pipeline(nlp: Any) -> None:
    raise_issues(pipeline_issues(nlp), "The pipeline cannot be trained")


def pipeline_issues(nlp: Any) -> List[ConfigIssue]:
    config = interpolate(nlp.config)
    issues: List[ConfigIssue] = []
    for name, comp in nlp.components:
        model = getattr(comp, "model", None)
        block = config["components"].get(name)
        if model is None or not isinstance(block, dict):
            continue
        section = f"components.{name}"
        issues += listener_issues(name, model, block, section)
        issues += model_folder_issues(model, block, section)
    issues += initialize_issues(config.get("initialize") or {})
    return issues


def listener_issues(name: str, model: Any, block: Dict[str, Any], section: str) -> List[ConfigIssue]:
    """Unconnected listeners, and transformer listeners whose pooling cannot pool."""
    issues = []
    places: Dict[str, List[str]] = {kind: [] for kind in LISTENER_KINDS.values()}
    for path, func in blocks(block, section):
        if func in LISTENER_KINDS:
            places[LISTENER_KINDS[func]].append(path)
    seen: Dict[str, int] = {}
    for node in listener_nodes(model):
        channel = channel_of(node)
        i = seen[channel.kind] = seen.get(channel.kind, -1) + 1
        where = places[channel.kind][i] if i < len(places[channel.kind]) else section
        if channel.upstream is None:
            channel.downstream = name
            try:
                channel.require_connected()
            except ListenerError as e:
                issues.append(ConfigIssue(where, "upstream", f"[{where}] {e}", "listener"))
        if channel.kind == "transformer" and node.layers:
            problem = pooling_problem(node.layers[0], _width(node))
            if problem:
                written = get_section(block, where[len(section) + 1:] + ".pooling") or {}
                layer = written.get("@layers", node.layers[0].name) if isinstance(written, dict) else node.layers[0].name
                issues.append(ConfigIssue(f"{where}.pooling", "@layers", f"[{where}.pooling] @layers = "
                                          f"\"{layer}\" {problem}", "invalid"))
    return issues


def _width(listener: Any) -> int:
    if listener.has_dim("nO") and listener.get_dim("nO"):
        return int(listener.get_dim("nO"))
    return 8  # the upstream's width is not known before its weights load: any width shows the kind


def model_folder_issues(model: Any, block: Dict[str, Any], section: str) -> List[ConfigIssue]:
    """Each transformer's `name` must resolve to a model folder (nothing is loaded)."""
    paths = [path for path, func in blocks(block, section) if func is TransformerModel]
    nodes = [node for node in model.walk() if node.name == "transformer" and "name" in node.attrs]
    issues = []
    for path, node in zip(paths, nodes):
        try:
            resolve_model_path(node.attrs["name"])
        except ConfigError as e:
            message = str(e).replace("[model] ", f"[{path}] ", 1)
            issues.append(ConfigIssue(path, "name", message, "invalid"))
    return issues


def initialize_issues(init: Dict[str, Any]) -> List[ConfigIssue]:
    issues = []
    vectors = init.get("vectors")
    if vectors and not Path(str(vectors)).exists():
        issues.append(ConfigIssue("initialize", "vectors", f"[initialize] vectors = {str(vectors)!r}: no such folder. "
                                  f"Create it with `python -m workbench init vectors en VECTORS_FILE {vectors}`, "
                                  f"or set it to null.", "invalid"))
    weights = init.get("init_tok2vec")
    if weights and not Path(str(weights)).is_file():
        issues.append(ConfigIssue("initialize", "init_tok2vec", f"[initialize] init_tok2vec = {str(weights)!r}: no "
                                  f"such file. Point it at a model{{N}}.bin written by `python -m workbench "
                                  f"pretrain`, or set it to null.", "invalid"))
    return issues


def blocks(block: Dict[str, Any], section: str) -> Iterator[Tuple[str, Optional[Callable]]]:
    """(section, function) of every `@architectures` block under `block`, depth first."""
    for key, value in block.items():
        if isinstance(value, dict):
            path = f"{section}.{key}"
            if "@architectures" in value:
                yield path, _architecture(value["@architectures"])
            yield from blocks(value, path)


def _architecture(name: str) -> Optional[Callable]:
    try:
        return registry.architectures.get(str(name))
    except Exception:  # unknown names are refused when the config is filled
        return None
