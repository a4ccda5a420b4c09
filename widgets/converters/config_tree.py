"""A config as rows for an editor: sections, keys, value texts; signatures; diffs.

Values are shown as config text (`"pos"`, `96`, `[1, 2]`, `null`, `${a.b}`) and
parsed back with confection's own rules, so what the editor writes is what a
`.cfg` file would hold.
"""
import copy
import difflib
import inspect
import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from confection import Config

from workbench.config import load_config, parse_config
from workbench.errors import ConfigError
from workbench.registry import registry


@dataclass(frozen=True)
class Row:
    section: str  # dotted section name
    key: str
    text: str     # the value as config text
    registry: Optional[str] = None  # "architectures" for an `@architectures` key, "factories" for factory


def to_config(source: Any) -> Tuple[Config, Optional[Path]]:
    """(config, file it came from) for a path, config text, Config/dict or live Pipeline."""
    if hasattr(source, "config") and hasattr(source, "pipe_names"):
        return source.config, None
    if isinstance(source, Config):
        return Config(copy.deepcopy(dict(source)), is_interpolated=False), None
    if isinstance(source, dict):
        return Config(copy.deepcopy(source), is_interpolated=False), None
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and "[" not in source):
        return load_config(source), Path(source)
    if isinstance(source, str):
        return parse_config(source), None
    raise ConfigError(f"Cannot open a config from {type(source).__name__}: pass a path, config text, a Config or a Pipeline.")


def value_to_text(value: Any) -> str:
    if isinstance(value, str) and "${" in value:
        return value  # a reference stays unquoted
    return json.dumps(value)


def text_to_value(text: str) -> Tuple[Any, Optional[str]]:
    """(value, warning): confection's parsing of one value; a warning when text that
    looks like a list, section or number did not parse and became a string."""
    text = text.strip()
    if not text:
        return None, "empty: write null for no value"
    try:
        parsed = Config().from_str(f"[s]\nk = {text}\n", interpolate=False)["s"]["k"]
    except Exception as e:
        return text, f"not a value: {e}"
    if isinstance(parsed, str) and "${" not in parsed and text[:1] in "[{0123456789-" and not text.startswith('"'):
        return parsed, f"not valid JSON, so it is read as the string {json.dumps(parsed)}"
    return parsed, None


def config_rows(config: Dict[str, Any]) -> List[Row]:
    """Every leaf value, section by section in file order (parents before children)."""
    rows: List[Row] = []

    def walk(node: Dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                continue
            reg = key[1:] if isinstance(key, str) and key.startswith("@") else None
            if key == "factory" and prefix.startswith("components.") and prefix.count(".") == 1:
                reg = "factories"
            rows.append(Row(prefix, key, value_to_text(value), reg))
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}.{key}" if prefix else key)

    walk(dict(config), "")
    return rows


def sections(config: Dict[str, Any]) -> List[str]:
    """Dotted section names, parents first."""
    out: List[str] = []

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                name = f"{prefix}.{key}" if prefix else key
                out.append(name)
                walk(value, name)

    walk(dict(config), "")
    return out


def set_value(config: Dict[str, Any], section: str, key: str, value: Any) -> Config:
    """A copy of `config` with [section] key = value (the section must exist)."""
    out = copy.deepcopy(dict(config))
    node = out
    for part in section.split("."):
        node = node[part]
    node[key] = value
    return Config(out, is_interpolated=False)


def get_block(config: Dict[str, Any], section: str) -> Dict[str, Any]:
    node: Any = config
    for part in section.split(".") if section else []:
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


# ------------------------------------------------------------------ registered functions


def registered_names(registry_name: str) -> List[str]:
    """The names registered in one registry (`architectures`, `optimizers`, ...), sorted."""
    reg = getattr(registry, registry_name, None)
    if reg is None or not hasattr(reg, "get_all"):
        return []
    return sorted(reg.get_all())


@dataclass(frozen=True)
class Arg:
    name: str
    type: str      # the annotation as text, "" when none
    default: str   # the default as config text, "" when required
    required: bool


def function_args(registry_name: str, func_name: str) -> List[Arg]:
    """The arguments of a registered function, from `inspect.signature`."""
    func = registry.get(registry_name, func_name)
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    args = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = hints.get(p.name, p.annotation)
        required = p.default is inspect.Parameter.empty
        args.append(Arg(p.name, type_text(ann), "" if required else _default_text(p.default), required))
    return args


def type_text(ann: Any) -> str:
    if ann is inspect.Parameter.empty:
        return ""
    if isinstance(ann, type):
        return ann.__name__
    return str(ann).replace("typing.", "").replace("thinc.model.", "").replace("thinc.types.", "")


def _default_text(value: Any) -> str:
    try:
        return value_to_text(value)
    except TypeError:
        return repr(value)


def function_doc(registry_name: str, func_name: str) -> str:
    """The first paragraph of the function's docstring."""
    doc = inspect.getdoc(registry.get(registry_name, func_name)) or ""
    return doc.split("\n\n")[0].strip()


# ------------------------------------------------------------------ diff


def config_text(config: Union[Config, Dict[str, Any]]) -> str:
    return Config(dict(config), is_interpolated=False).to_str()


def config_diff(old: str, new: str, *, old_name: str = "file", new_name: str = "editor") -> str:
    """A unified diff of two config texts ('' when equal)."""
    return "".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=old_name, tofile=new_name,
    ))


# ------------------------------------------------------------------ names that fit a slot

ALIAS_PREFIXES = ("spacy.", "spacy-transformers.")  # spaCy's spellings of the same functions


def role_of(name: str) -> str:
    """What a registered architecture is, from its name: "listener", "tok2vec" (a whole
    embedding: embed + encode), "embed", "encoder", "transformer", "head" or "" (unknown,
    e.g. a user's own layer)."""
    short = name.split(".")[-2] if name.count(".") >= 2 else name
    if "Listener" in short:
        return "listener"
    if short in ("Tok2Vec", "HashEmbedCNN"):
        return "tok2vec"
    if "Embed" in short or short == "StaticVectors":
        return "embed"
    if "Encoder" in short:
        return "encoder"
    if short.startswith("Pretrain"):
        return "objective"
    if short.startswith("Transformer"):
        return "transformer"
    if short in ("Tagger", "TransitionBasedParser", "Parser"):
        return "head"
    return ""


# the roles a component's `model` may have, by factory ("" : a user's own architecture)
COMPONENT_MODEL_ROLES = {"tagger": {"head", ""}, "ner": {"head", ""}, "tok2vec": {"tok2vec", ""},
                         "transformer": {"transformer", ""}}

# the roles each well-known slot refuses (types alone cannot tell an embedding layer from a listener)
SLOT_REFUSES = {
    "embed": {"listener", "tok2vec", "head", "transformer", "encoder"},
    "encode": {"listener", "tok2vec", "head", "transformer", "embed"},
    "tok2vec": {"head", "embed", "encoder"},
}


def _returns(registry_name: str, name: str) -> Any:
    try:
        ret = inspect.signature(registry.get(registry_name, name)).return_annotation
    except Exception:
        return None
    return None if ret is inspect.Signature.empty else ret


def slot_names(config: Dict[str, Any], section: str, registry_name: str) -> List[str]:
    """The registered names that fit the block at `section` (e.g. an embed slot lists
    embedding layers, not listeners): those whose return type matches what the parent
    function's argument expects, without the roles the slot refuses. spaCy aliases are
    left out. Sections with no parent function get every name."""
    names = [n for n in registered_names(registry_name) if not n.startswith(ALIAS_PREFIXES)]
    if "." not in section:
        return names
    parent, slot = section.rsplit(".", 1)
    block = get_block(config, parent)
    ref = next(((k[1:], v) for k, v in block.items() if isinstance(k, str) and k.startswith("@")), None)
    if ref is None and "factory" in block and parent.count(".") == 1:
        ref = ("factories", block["factory"])
    want = None
    if ref is not None:
        try:
            param = inspect.signature(registry.get(*ref)).parameters.get(slot)
            want = None if param is None or param.annotation is inspect.Parameter.empty else param.annotation
        except Exception:
            want = None
    refused = SLOT_REFUSES.get(slot, {"objective"}) if registry_name == "architectures" else set()
    allowed = None
    if ref is not None and ref[0] == "factories" and slot == "model":
        allowed = COMPONENT_MODEL_ROLES.get(str(ref[1]))
    out = []
    for name in names:
        role = role_of(name)
        if role in refused or (allowed is not None and role not in allowed):
            continue
        got = _returns(registry_name, name) if want is not None else None
        if want is not None and got is not None and got != want and not _loosely_equal(got, want):
            continue
        out.append(name)
    return out


def _loosely_equal(got: Any, want: Any) -> bool:
    """Model[X, Y] against a bare Model (or Any): no type to check against."""
    return typing.get_args(want) == () or want is typing.Any
