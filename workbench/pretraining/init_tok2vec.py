"""Which layer pretraining trains, and loading its weights back (`[initialize] init_tok2vec`).

The target is named by `[pretraining] component` and `layer`. When the component is
not in the pipeline (configs often assume one called "tok2vec"), the first component
with a tok2vec of its own is used instead, and the report says so.

Loading compares the saved node tree (layer names, dims, weight shapes) with the
target before anything is written, and refuses a mismatch naming the layer; after
loading, it reads every weight back to check that the pipeline now holds the file's.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy
import srsly
from thinc.api import Model

from ..errors import ConfigError, DataError
from ..models.listener import is_listener

WHOLE = ""  # layer = "": the component's whole embedding model


@dataclass
class Target:
    """The layer that pretraining trains and init_tok2vec loads."""

    component: str
    layer: str
    model: Model
    note: str = ""

    @property
    def description(self) -> str:
        where = f"the '{self.layer}' layer of '{self.component}'" if self.layer else f"'{self.component}'"
        return where + (f" ({self.note})" if self.note else "")


@dataclass
class LoadReport:
    """What `load_pretrained` loaded: one entry per layer holding weights."""

    path: str
    component: str
    layer: str
    layers: List[Dict[str, Any]] = field(default_factory=list)
    note: str = ""

    @property
    def n_weights(self) -> int:
        return sum(entry["n_weights"] for entry in self.layers)

    def format(self) -> str:
        target = f"'{self.component}'" + (f" layer '{self.layer}'" if self.layer else "")
        lines = [f"init_tok2vec: loaded {self.n_weights:,} weights in {len(self.layers)} layers "
                 f"from {self.path} into {target}" + (f" ({self.note})" if self.note else "") + ":"]
        for entry in self.layers:
            shapes = ", ".join(f"{k} {tuple(v)}" for k, v in entry["params"].items())
            lines.append(f"  {entry['path']:<36} {entry['n_weights']:>10,}  {shapes}")
        return "\n".join(lines)


# ------------------------------------------------------------------ finding the target


def _own_tok2vec(comp: Any) -> Optional[Tuple[str, Model]]:
    """(layer, model) of a component's own embedding, or None (no model, or a listener)."""
    model = getattr(comp, "model", None)
    if model is None:
        return None
    if getattr(comp, "upstream_kind", None) == "tok2vec":
        return WHOLE, model
    if model.has_ref("tok2vec") and not is_listener(model.get_ref("tok2vec")):
        return "tok2vec", model.get_ref("tok2vec")
    return None


def find_target(nlp: Any, component: Optional[str] = "tok2vec", layer: Optional[str] = WHOLE) -> Target:
    """The embedding named by [pretraining] component / layer (see the module doc)."""
    component = component or "tok2vec"
    layer = layer or WHOLE
    note = ""
    if component not in nlp.pipe_names:
        fallback = next(((name, found) for name, comp in nlp.components
                         if (found := _own_tok2vec(comp)) is not None), None)
        if fallback is None:
            raise ConfigError(
                f"[pretraining] component = \"{component}\" is not in the pipeline "
                f"({', '.join(nlp.pipe_names) or 'empty'}), and no component has a tok2vec of its own "
                f"to pretrain. Add a tok2vec component, or name a component with an embedding layer."
            )
        note = f"[pretraining] component \"{component}\" is not in the pipeline; using '{fallback[0]}'"
        component, (layer, _) = fallback[0], fallback[1]
    comp = nlp.get_pipe(component)
    model = getattr(comp, "model", None)
    if model is None:
        raise ConfigError(f"[pretraining] component = \"{component}\" has no model to pretrain.")
    if layer:
        target = _find_ref(model, layer)
        if target is None:
            refs = sorted({name for node in model.walk() for name in node.ref_names})
            raise ConfigError(
                f"[pretraining] layer = \"{layer}\": '{component}' has no layer of that name. Its named "
                f"layers are: {', '.join(refs) or 'none'}; or leave layer = \"\" for its whole embedding."
            )
    else:
        found = _own_tok2vec(comp)
        if found is None:
            raise ConfigError(
                f"[pretraining] component = \"{component}\" has no embedding layer of its own to pretrain"
                + (" (its tok2vec is a listener)" if model.has_ref("tok2vec") else "")
                + ". Name the component that owns the embedding (e.g. the tok2vec component), or set "
                  "[pretraining] layer."
            )
        layer, target = found
    if is_listener(target):
        upstream = target.attrs.get("upstream", "*")
        raise ConfigError(
            f"[pretraining] '{component}' reads its embeddings through a listener (upstream = "
            f"\"{upstream}\"), which has no weights. Pretrain the component it listens to instead: "
            f"set [pretraining] component to that component's name."
        )
    return Target(component, layer, target, note)


def _find_ref(model: Model, name: str) -> Optional[Model]:
    for node in model.walk():
        if node.has_ref(name):
            return node.get_ref(name)
    return None


# ------------------------------------------------------------------ describing and comparing


def layer_paths(model: Model) -> Dict[int, str]:
    """node.id -> a short readable path: the named layers (refs) on the way down, then the
    layer's own name, numbered when several share a path, e.g. "tok2vec/encode/maxout_norm[2]"."""
    ref_names = {node.get_ref(name).id: name for node in model.walk()
                 for name in node.ref_names if node.has_ref(name)}
    raw: Dict[int, str] = {}

    def visit(node: Model, prefix: str) -> None:
        for child in node.layers:
            if child.id in raw:
                continue
            named = ref_names.get(child.id)
            here = f"{prefix}/{named}" if named else prefix
            raw[child.id] = here if named else f"{prefix}/{child.name}"
            visit(child, here)

    raw[model.id] = model.name
    visit(model, model.name)
    counts: Dict[str, int] = {}
    for path in raw.values():
        counts[path] = counts.get(path, 0) + 1
    seen: Dict[str, int] = {}
    paths = {}
    for node in model.walk():  # number duplicates in walk order
        path = raw.get(node.id, node.name)
        if counts.get(path, 0) > 1:
            paths[node.id] = f"{path}[{seen.get(path, 0)}]"
            seen[path] = seen.get(path, 0) + 1
        else:
            paths[node.id] = path
    return paths


def describe(model: Model) -> List[Dict[str, Any]]:
    """One entry per layer that holds weights: path, name, params {name: shape}, n_weights."""
    paths = layer_paths(model)
    out = []
    for node in model.walk():
        params = {name: tuple(node.get_param(name).shape) for name in node.param_names if node.has_param(name)}
        if params:
            n = int(sum(numpy.prod(shape) for shape in params.values()))
            out.append({"path": paths.get(node.id, node.name), "name": node.name, "params": params, "n_weights": n})
    return out


def read_weights(data: bytes, source: str) -> Dict[str, Any]:
    """The msgpack tree that `model.to_bytes()` wrote."""
    try:
        msg = srsly.msgpack_loads(data)
    except Exception as err:
        raise DataError(f"{source}: not a weights file written by `workbench pretrain` ({err}).") from None
    if not isinstance(msg, dict) or not {"nodes", "params"} <= set(msg):
        raise DataError(f"{source}: not a weights file written by `workbench pretrain` (no layer tree in it).")
    return msg


INIT_TOK2VEC_FIX = ("Pretrain with the same embedding settings (widths, depth, rows, attrs, static vectors) "
                    "as the training config, or set [initialize] init_tok2vec = null.")


def check_structure(model: Model, msg: Dict[str, Any], source: str, target: str,
                    what: str = "init_tok2vec", fix: str = INIT_TOK2VEC_FIX) -> None:
    """Raise ConfigError naming the first layer whose name, dims or weight shapes differ."""
    nodes = list(model.walk())
    paths = layer_paths(model)
    saved = msg["nodes"]
    for i, (node, info) in enumerate(zip(nodes, saved)):
        where = f"layer {i} '{paths.get(node.id, node.name)}'"
        if info.get("name") != node.name:
            raise ConfigError(
                f"{what}: {source} does not match {target}: {where} is '{node.name}' in the pipeline "
                f"but '{info.get('name')}' in the file. {fix}"
            )
        for dim, value in (info.get("dims") or {}).items():
            mine = node.maybe_get_dim(dim) if dim in node.dim_names else None
            if value is not None and mine is not None and value != mine:
                raise ConfigError(
                    f"{what}: {source} does not match {target}: {where} has {dim} = {value} in the "
                    f"file but {dim} = {mine} in the pipeline. {fix}"
                )
        file_params = msg["params"][i] or {}
        for name in sorted(set(file_params) | set(node.param_names)):
            theirs = file_params.get(name)
            their_shape = None if theirs is None else tuple(numpy.asarray(theirs).shape)
            my_shape = tuple(node.get_param(name).shape) if node.has_param(name) else None
            if their_shape != my_shape:
                raise ConfigError(
                    f"{what}: {source} does not match {target}: {where} has weights '{name}' of shape "
                    f"{their_shape} in the file but {my_shape} in the pipeline. {fix}"
                )
    if len(nodes) != len(saved):
        last = f" after layer {min(len(nodes), len(saved)) - 1}" if min(len(nodes), len(saved)) else ""
        extra = (f"the file has {len(saved) - len(nodes)} more layers ('{saved[len(nodes)].get('name')}' first)"
                 if len(saved) > len(nodes) else
                 f"the pipeline has {len(nodes) - len(saved)} more layers "
                 f"('{paths.get(nodes[len(saved)].id, nodes[len(saved)].name)}' first)")
        raise ConfigError(f"{what}: {source} does not match {target}: {extra}{last}. {fix}")


def load_weights(model: Model, data: bytes, source: str, target: str = "the model",
                 what: str = "init_tok2vec", fix: str = INIT_TOK2VEC_FIX) -> List[Dict[str, Any]]:
    """Check the structure, load the weights, verify them; returns `describe(model)`.
    `what` and `fix` start and end the error messages."""
    msg = read_weights(data, source)
    check_structure(model, msg, source, target, what, fix)
    model.from_bytes(data)
    for i, node in enumerate(model.walk()):  # read back: the pipeline holds the file's weights now
        for name, value in (msg["params"][i] or {}).items():
            if value is not None and not numpy.array_equal(model.ops.to_numpy(node.get_param(name)), value):
                raise ConfigError(f"{what}: weights '{name}' of layer {i} did not load from {source}.")
    return describe(model)


def load_pretrained(
    nlp: Any, path: Union[str, Path], component: Optional[str] = "tok2vec", layer: Optional[str] = WHOLE
) -> LoadReport:
    """Load `model{N}.bin` (from `workbench pretrain`) into the target embedding.

    Call it after `nlp.initialize()`: initializing afterwards would overwrite the weights.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"[initialize] init_tok2vec = \"{path}\": no such file. Point it at a model{{N}}.bin written by "
            f"`python -m workbench pretrain TEXTS.jsonl OUTDIR CONFIG`."
        )
    target = find_target(nlp, component, layer)
    layers = load_weights(target.model, path.read_bytes(), str(path), target.description)
    return LoadReport(str(path), target.component, target.layer, layers, target.note)
