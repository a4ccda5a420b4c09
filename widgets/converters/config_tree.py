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
