"""A pipeline's layout as plain data: components, the embedding layers they own or
listen to, listener connections, parameter counts and model sizes.

`layout_data(nlp_or_config)` returns
    {"title": str,
     "nodes": [{"id", "kind", "label", "component", "architecture", "params", "bytes", "x", "row"}],
     "edges": [{"source", "target", "kind"}],        # kind "owns" or "listens"
     "params": {"total": int, "by_component": {name: int}},
     "bytes": {"total": int, "by_component": {name: int}},
     "measured": bool, "notes": [str]}

Node kinds: "component" (the head of each component, row 0), and in row 1 the
embedding each one uses: "embedding" (an upstream component such as tok2vec or
a transformer, which IS its embedding), "own" (an embedding layer inside the
component: independent) or "listener" (a layer reading an upstream: an edge
"listens" goes from the upstream's embedding node to it).

Counting: the parameters of a component are those of its model tree (a listener
holds none, so an upstream's weights are counted once, under the upstream);
for PyTorch layers (transformers) the torch parameters are counted. The size is
`len(model.to_bytes())`. Both need initialized weights: a config, or a live
pipeline that is not initialized, is built and initialized on a few built-in
sample docs (output layers then have the sample's label counts).
"""
import tempfile
from typing import Any, Dict, List, Optional, Tuple

import workbench
from workbench.errors import ConfigError
from workbench.models.listener import listener_nodes

SAMPLE = [
    ("Alice works for Acme in Paris .", "PROPN VERB ADP PROPN ADP PROPN PUNCT", [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC")]),
    ("Bob visited London last week .", "PROPN VERB PROPN ADJ NOUN PUNCT", [(0, 1, "PER"), (2, 3, "LOC")]),
    ("The cat sat on the mat .", "DET NOUN VERB ADP DET NOUN PUNCT", []),
]


def sample_examples(nlp: Any) -> List[Any]:
    """A few annotated examples (POS, tags, entities, cats) for initializing a pipeline."""
    from workbench import Doc, Example

    out = []
    for text, pos, ents in SAMPLE:
        words, tags = text.split(), pos.split()
        ref = Doc(nlp.vocab, words=words, pos=tags, tags=tags, ents=ents,
                  sent_starts=[True] + [False] * (len(words) - 1),
                  cats={"NEWS": float(bool(ents)), "OTHER": float(not ents)})
        out.append(Example.from_gold(nlp.vocab, ref))
    return out


# ------------------------------------------------------------------ building


def as_pipeline(nlp_or_config: Any, *, initialized: bool = True) -> Tuple[Any, List[str]]:
    """(pipeline, notes): a live pipeline as it is when ready, else one built from the config
    (and initialized on the sample docs when `initialized`)."""
    notes: List[str] = []
    if isinstance(nlp_or_config, workbench.Pipeline):
        nlp = nlp_or_config
        if not initialized or all(getattr(c, "is_initialized", True) for _, c in nlp.components):
            return nlp, notes
        config = nlp.config
        notes.append("the pipeline is not initialized: measured on a copy initialized with sample docs")
    else:
        from .config_tree import to_config

        config = to_config(nlp_or_config)[0]
    nlp = workbench.Pipeline.from_config(config)
    if initialized:
        examples = sample_examples(nlp)
        nlp.initialize(lambda: iter(examples))
        if not isinstance(nlp_or_config, workbench.Pipeline):
            notes.append("built from the config and initialized on sample docs")
    return nlp, notes


def copy_pipeline(nlp: Any) -> Any:
    """An independent copy with the same weights (through to_disk / load), or a fresh
    build from the config when the pipeline is not initialized."""
    if not all(getattr(c, "is_initialized", True) for _, c in nlp.components):
        return workbench.Pipeline.from_config(nlp.config)
    with tempfile.TemporaryDirectory() as tmp:
        nlp.to_disk(tmp)
        return workbench.load(tmp)


def listening(nlp: Any) -> Dict[str, List[str]]:
    """{upstream component: [components with a listener bound to it]}."""
    return {name: list(comp.listening_components) for name, comp in nlp.components
            if getattr(comp, "is_upstream", False)}


def independent_version(nlp: Any, *, drop_unused: bool = True) -> Tuple[Optional[Any], List[str]]:
    """(a copy where every listening component has its own embedding, notes); None when
    no component can be made independent (e.g. all listen to a transformer)."""
    links = listening(nlp)
    if not any(links.values()):
        return None, ["every component already has its own embedding"]
    notes: List[str] = []
    out = copy_pipeline(nlp)
    changed = 0
    for upstream, names in links.items():
        kind = getattr(out.get_pipe(upstream), "upstream_kind", "")
        for name in names:
            try:
                out.make_independent(name)
                changed += 1
            except ConfigError as e:
                notes.append(f"{name} stays on {upstream} ({kind}): {e}")
    if drop_unused:
        for upstream, names in listening(out).items():
            if not names and links.get(upstream):
                out.remove_pipe(upstream)
                notes.append(f"'{upstream}' removed: no listener left")
    return (out if changed else None), notes


def shared_version(nlp: Any) -> Tuple[Optional[Any], List[str]]:
    """(a shared-tok2vec pipeline with the same tagger/ner components, notes), built with
    `build_init_config(shared=True)`; None for other components."""
    from workbench.commands import KNOWN_COMPONENTS, build_init_config

    names = [n for n, c in nlp.components if not getattr(c, "is_upstream", False)]
    factories = [nlp.config["components"].get(n, {}).get("factory") for n in names]
    if not names or any(n not in KNOWN_COMPONENTS or f != n for n, f in zip(names, factories)):
        return None, [f"no shared version is built for components {names}: "
                      f"`build_init_config` knows {', '.join(KNOWN_COMPONENTS)}"]
    config = build_init_config(names, shared=True)
    return as_pipeline(config)[0], ["shared version from build_init_config(shared=True)"]


def make_independent(nlp: Any, name: str) -> List[str]:
    """`nlp.make_independent(name)`, then remove an upstream that no one listens to any more."""
    before = {u for u, names in listening(nlp).items() if name in names}
    nlp.make_independent(name)
    notes = []
    for upstream in before:
        if not listening(nlp).get(upstream):
            notes.append(f"'{upstream}' has no listener left (it still runs; remove it with nlp.remove_pipe)")
    return notes


# ------------------------------------------------------------------ counting


def count_params(model: Any) -> int:
    """Parameters of a thinc model tree, plus those of wrapped PyTorch modules."""
    total = 0
    seen_shims = set()
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name):
                total += int(node.get_param(name).size)
        for shim in node.shims:
            module = getattr(shim, "_model", None)
            if module is not None and id(module) not in seen_shims and hasattr(module, "parameters"):
                seen_shims.add(id(module))
                total += sum(int(p.numel()) for p in module.parameters())
    return total


def model_bytes(model: Any) -> Optional[int]:
    try:
        return len(model.to_bytes())
    except Exception:
        return None  # e.g. not initialized


def embedding_of(comp: Any) -> Tuple[str, Optional[Any]]:
    """("embedding" | "listener" | "own" | "none", the embedding model) of a component."""
    model = getattr(comp, "model", None)
    if model is None:
        return "none", None
    if getattr(comp, "is_upstream", False):
        return "embedding", model
    nodes = listener_nodes(model)
    if nodes:
        return "listener", nodes[0]
    if model.has_ref("tok2vec"):
        return "own", model.get_ref("tok2vec")
    for node in model.walk():
        if node is not model and node.name in ("tok2vec", "transformer"):
            return "own", node
    return "none", None


def _architecture(config: Dict[str, Any], name: str, kind: str) -> str:
    block = (config.get("components") or {}).get(name, {})
    model = block.get("model", {}) if isinstance(block, dict) else {}
    if kind == "embedding":
        return str(model.get("@architectures", ""))
    sub = model.get("tok2vec", {}) if isinstance(model, dict) else {}
    return str(sub.get("@architectures", "")) if isinstance(sub, dict) else ""


def _short(arch: str) -> str:
    """workbench.Tok2Vec.v1 -> Tok2Vec.v1"""
    parts = arch.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else arch


# ------------------------------------------------------------------ the converter


def layout_data(nlp_or_config: Any, *, measure: bool = True, title: str = "") -> Dict[str, Any]:
    """Plain data describing the pipeline's layout (see the module docstring)."""
    nlp, notes = as_pipeline(nlp_or_config, initialized=measure)
    config = nlp.config
    nodes: List[Dict[str, Any]] = []
    edges: List[Dict[str, Any]] = []
    by_params: Dict[str, int] = {}
    by_bytes: Dict[str, int] = {}
    emb_id: Dict[str, str] = {}
    for x, (name, comp) in enumerate(nlp.components):
        factory = config["components"].get(name, {}).get("factory", type(comp).__name__)
        model = getattr(comp, "model", None)
        params = count_params(model) if (measure and model is not None) else None
        size = model_bytes(model) if (measure and model is not None) else None
        if params is not None:
            by_params[name] = params
        if size is not None:
            by_bytes[name] = size
        kind, emb = embedding_of(comp)
        emb_params = count_params(emb) if (measure and emb is not None and kind != "listener") else (0 if kind == "listener" else None)
        head_params = None if params is None else params - (emb_params or 0) if kind in ("own", "embedding") else params
        nodes.append({
            "id": name, "kind": "component", "label": name, "component": name, "factory": factory,
            "architecture": "", "params": head_params, "total_params": params, "bytes": size, "x": x, "row": 0,
        })
        if kind == "none":
            continue
        node_id = f"{name}/{'listener' if kind == 'listener' else 'embedding'}"
        arch = _architecture(config, name, kind) or (emb.name if emb is not None else "")
        n_listeners = len(getattr(comp, "listening_components", []) or [])
        label = {"embedding": f"{factory}: shared by {n_listeners}" if n_listeners else f"{factory}: no listeners",
                 "own": "own embedding", "listener": "listener"}[kind]
        nodes.append({
            "id": node_id, "kind": kind, "label": label, "component": name, "factory": factory,
            "architecture": _short(arch), "params": emb_params, "bytes": None, "x": x, "row": 1,
        })
        edges.append({"source": node_id, "target": name, "kind": "owns"})
        emb_id[name] = node_id
    for upstream, names in listening(nlp).items():
        for name in names:
            if name in emb_id and upstream in emb_id:
                edges.append({"source": emb_id[upstream], "target": emb_id[name], "kind": "listens"})
    total = sum(by_params.values()) if measure else None
    total_bytes = sum(by_bytes.values()) if measure else None
    return {
        "title": title,
        "pipeline": nlp.pipe_names,
        "nodes": nodes,
        "edges": edges,
        "listening": listening(nlp),
        "params": {"total": total, "by_component": by_params},
        "bytes": {"total": total_bytes, "by_component": by_bytes},
        "measured": measure,
        "notes": notes,
    }


def other_version(nlp: Any) -> Tuple[Optional[Any], str, List[str]]:
    """(the pipeline's other version or None, "independent" | "shared", notes): a pipeline with
    listeners is made independent on a copy; one without gets the shared layout of
    build_init_config."""
    if any(listening(nlp).values()):
        other, notes = independent_version(nlp)
        return other, "independent", notes
    other, notes = shared_version(nlp)
    return other, "shared", notes


def compare_layouts(nlp_or_config: Any, *, measure: bool = True) -> Dict[str, Any]:
    """{"shared": layout or None, "independent": layout or None, "notes": [...]} for the pipeline
    and its other version (made independent on a copy, or shared via build_init_config)."""
    nlp, notes = as_pipeline(nlp_or_config, initialized=measure)
    other, kind, more = other_version(nlp)
    shared, independent = (nlp, other) if kind == "independent" else (other, nlp)
    notes += more
    return {
        "shared": layout_data(shared, measure=measure, title="shared") if shared is not None else None,
        "independent": layout_data(independent, measure=measure, title="independent") if independent is not None else None,
        "notes": notes,
    }


def format_count(n: Optional[int]) -> str:
    if n is None:
        return "?"
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def format_bytes(n: Optional[int]) -> str:
    if n is None:
        return "?"
    for unit, size in (("GB", 2 ** 30), ("MB", 2 ** 20), ("kB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def make_shared(nlp: Any, name: str, upstream: Optional[str] = None) -> List[str]:
    """The inverse of `make_independent`: `name`'s own embedding is replaced by a listener
    to the tok2vec component `upstream` (default: the first one), and the config is
    updated to match. Right after `make_independent` the two embeddings hold the same
    weights, so predictions are identical again; otherwise the component now reads the
    shared embedding (retrain it)."""
    from workbench.registry import registry

    comp = nlp.get_pipe(name)
    kind, own = embedding_of(comp)
    if kind != "own":
        raise ConfigError(f"'{name}' has no embedding of its own to replace ({kind}).")
    ups = [n for n, c in nlp.components if getattr(c, "upstream_kind", "") == "tok2vec" and n != name]
    if upstream is None:
        if not ups:
            raise ConfigError(f"There is no tok2vec component for '{name}' to listen to: add one first.")
        upstream = ups[0]
    elif upstream not in ups:
        raise ConfigError(f"'{upstream}' is not a tok2vec component of this pipeline ({', '.join(ups) or 'none'}).")
    up_model = nlp.get_pipe(upstream).model
    width = up_model.get_dim("nO") if up_model.has_dim("nO") else own.get_dim("nO")
    if own.has_dim("nO") and own.get_dim("nO") != width:
        raise ConfigError(f"'{name}' reads width {own.get_dim('nO')}, but '{upstream}' gives width {width}: "
                          f"they cannot be shared.")
    block = {"@architectures": "workbench.Tok2VecListener.v1", "width": width, "upstream": upstream}
    listener = registry.resolve({"x": dict(block)})["x"]
    comp.model.replace_node(own, listener)
    if comp.model.has_ref("tok2vec") and comp.model.get_ref("tok2vec") is own:
        comp.model.set_ref("tok2vec", listener)
    # the pipeline's config follows its models; Pipeline has no public setter for one block
    model_block = nlp._config["components"][name].get("model", {})
    if isinstance(model_block, dict) and "tok2vec" in model_block:
        model_block["tok2vec"] = block
    nlp.link_listeners()
    return []


def layout_signature(nlp: Any) -> Tuple:
    """What the drawing depends on: the components and who listens to whom (cheap to compute)."""
    own = tuple(name for name, comp in nlp.components if embedding_of(comp)[0] == "own")
    return (tuple(nlp.pipe_names), tuple((u, tuple(n)) for u, n in sorted(listening(nlp).items())), own)


def layout_title(nlp: Any) -> str:
    """The layout in words: "shared: tagger, ner listen to tok2vec", "independent: ...",
    "mixed: tagger listens, ner independent"."""
    links = listening(nlp)
    listeners = [n for names in links.values() for n in names]
    own = [name for name, comp in nlp.components if embedding_of(comp)[0] == "own"]
    if listeners and own:
        return f"mixed: {', '.join(listeners)} listen{'s' if len(listeners) == 1 else ''}, {', '.join(own)} independent"
    if listeners:
        return "shared: " + "; ".join(f"{', '.join(n)} listen{'s' if len(n) == 1 else ''} to {u}"
                                      for u, n in links.items() if n)
    if own:
        return "independent: " + ", ".join(own) + (" own" if len(own) > 1 else " owns") + " an embedding"
    return "no embeddings"
