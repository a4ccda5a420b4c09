"""`ConfigIssue` lists for `ConfigError`: each problem of a config as (section, key, message, kind).

Built from structured sources only: confection's validation errors (`loc`, `msg`,
`type`) read against the registered function's signature, configparser's exceptions
(section, option, line number) and the config's own `${...}` references. The
message of the `ConfigError` itself stays the engine's prose.
"""
import configparser
import inspect
import json
import re
import typing
from typing import Any, Dict, Iterator, List, Optional, Tuple

from confection import ConfigValidationError

from .errors import ConfigError, ConfigIssue
from .registry import registry

SYNTAX, MISSING, UNKNOWN, TYPE, REFERENCE, INVALID = "syntax", "missing", "unknown", "type", "reference", "invalid"
# the "type" values pydantic-style validators give, where confection passes them on
_KINDS = {"missing": MISSING, "extra_forbidden": UNKNOWN, "value_error": "value"}


# ------------------------------------------------------------------ validation


def validation_issues(e: ConfigValidationError, config: Dict[str, Any], prefix: str = "") -> List[ConfigIssue]:
    """One issue per entry of `e.errors`. `config` is what was validated: the whole
    (unfilled) config, so that each location gets its full section ("tok2vec.model" ->
    "components.tok2vec.model"), or with `prefix` the one block validated on its own
    (`resolve_block`, whose locations start at a stand-in top key)."""
    issues = []
    for err in e.errors or []:
        loc = [str(p) for p in err.get("loc") or []]
        if not loc:
            continue
        *path, key = loc
        if prefix:
            relative = ".".join(".".join(path).split(".")[1:])
            block = get_section(config, relative)
            section = ".".join(p for p in (prefix, relative) if p)
        else:
            section = find_section(config, ".".join(path)) or ".".join(path)
            block = get_section(config, section)
        issues.append(_validation_issue(block, section, key, err))
    if not e.errors and not prefix:  # confection interpolates while filling; a bad ${...} has no location
        return reference_issues(config)
    return issues


def _validation_issue(block: Any, section: str, key: str, err: Dict[str, Any]) -> ConfigIssue:
    params = signature_of(block) if isinstance(block, dict) else None
    kind = _KINDS.get(str(err.get("type", "")).split(".")[0])
    if kind is None:
        if isinstance(block, dict) and key not in block:
            kind = MISSING
        elif params is not None and key not in params and not _takes_kwargs(params):
            kind = UNKNOWN
        elif params is not None and key in params:
            kind = TYPE
        else:
            kind = INVALID
    if kind == MISSING:
        message = f"missing value: '{key}' has no default, so it must be written"
    elif kind == UNKNOWN:
        message = f"unknown setting '{key}': the function of this section takes no such argument"
    elif kind == TYPE:
        message = f"wrong type: {show(block[key])} should be {describe_type(params[key].annotation)}"
    else:
        message = str(err.get("msg", "invalid value"))
    return ConfigIssue(section, key, message, kind)


def _takes_kwargs(params) -> bool:
    return any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())


_TYPE_WORDS = {int: "a whole number", float: "a number", str: "a string", bool: "true or false",
               list: "a list", tuple: "a list", dict: "a section"}


def describe_type(annotation: Any) -> str:
    """int -> "a whole number", Optional[int] -> "a whole number or null", List[str] -> "a list"."""
    if annotation in _TYPE_WORDS:
        return _TYPE_WORDS[annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:  # a declared range (settings.PositiveInt, ...): its base type
        return describe_type(typing.get_args(annotation)[0])
    if origin is typing.Union:
        args = typing.get_args(annotation)
        words = [describe_type(a) for a in args if a is not type(None)]
        return " or ".join(words + (["null"] if type(None) in args else []))
    if origin in _TYPE_WORDS:
        return _TYPE_WORDS[origin]
    if origin is not None and getattr(origin, "__name__", "") in ("Sequence", "Iterable", "List"):
        return "a list"
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def signature_of(block: Dict[str, Any]) -> Optional[Dict[str, inspect.Parameter]]:
    """The parameters of the function a block names (`@registry = "name"`, or a component's factory)."""
    ref = next(((k[1:], v) for k, v in block.items() if isinstance(k, str) and k.startswith("@")), None)
    if ref is None and "factory" in block:
        ref = ("factories", block["factory"])
    if ref is None:
        return None
    try:
        return dict(inspect.signature(registry.get(*ref)).parameters)
    except (ConfigError, TypeError, ValueError):
        return None


# ------------------------------------------------------------------ sections


def iter_sections(node: Dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in node.items():
        if isinstance(value, dict):
            name = f"{prefix}.{key}" if prefix else str(key)
            yield name
            yield from iter_sections(value, name)


def find_section(config: Dict[str, Any], path: str) -> Optional[str]:
    """The dotted section of `config` named `path`, or ending with it (confection names
    component blocks without the `components.` prefix, corpora without `corpora.`)."""
    sections = list(iter_sections(config))
    if path in sections:
        return path
    ends = [s for s in sections if s.endswith("." + path)]
    return ends[0] if ends else None


def get_section(config: Dict[str, Any], section: str) -> Any:
    node: Any = config
    for part in section.split(".") if section else []:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def show(value: Any) -> str:
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


# ------------------------------------------------------------------ syntax

_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*$")
_KEY = re.compile(r"^\s*([^=\s\[]+)\s*=")


def syntax_issues(text: str) -> List[ConfigIssue]:
    """The problems configparser finds in config text, at the user's own line numbers.
    Empty when the text reads as INI (the problem is then in a value)."""
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keep keys as written
    try:
        parser.read_string(text)
    except configparser.DuplicateOptionError as e:
        return [ConfigIssue(e.section, e.option, f"'{e.option}' is set twice in [{e.section}] (line {e.lineno}): is a "
                            f"[section] header above it misspelled, or missing its closing ']'?", SYNTAX, e.lineno)]
    except configparser.DuplicateSectionError as e:
        return [ConfigIssue(e.section, None, f"[{e.section}] appears twice (line {e.lineno}): merge the two "
                            f"sections or rename one", SYNTAX, e.lineno)]
    except configparser.MissingSectionHeaderError as e:
        return [ConfigIssue("", None, f"line {e.lineno} comes before any [section] header: {e.line.strip()!r}",
                            SYNTAX, e.lineno)]
    except configparser.ParsingError as e:
        issues = []
        lines = text.splitlines()
        for number, _ in e.errors:  # configparser gives repr(line): show the line itself
            section, key = locate_line(text, number)
            line = lines[number - 1].strip() if 0 < number <= len(lines) else ""
            issues.append(ConfigIssue(section, key, f"line {number} is not `key = value` or `[section]`: "
                                      f"{line!r}", SYNTAX, number))
        return issues
    except configparser.Error as e:
        return [ConfigIssue("", None, str(e), SYNTAX)]
    return []


def locate_line(text: str, line: int) -> Tuple[str, Optional[str]]:
    """The (section, key) a 1-based line of config text belongs to."""
    section = ""
    lines = text.splitlines()
    for ln in lines[:line]:
        m = _HEADER.match(ln)
        if m:
            section = m.group(1).strip()
    m = _KEY.match(lines[line - 1]) if 0 < line <= len(lines) else None
    return section, (m.group(1) if m else None)


# ------------------------------------------------------------------ ${...} references

_REFERENCE = re.compile(r"\$\{([^}]*)\}")


def reference_issues(config: Dict[str, Any]) -> List[ConfigIssue]:
    """Every `${section.key}` (or `${section}`) value that names nothing in the config."""
    issues = []
    for section, key, value in _leaves(config):
        for ref in _REFERENCE.findall(value):
            *path, last = ref.split(".")
            node = get_section(config, ".".join(path))
            if not isinstance(node, dict) or last not in node:
                issues.append(ConfigIssue(section, key, f"${{{ref}}} names no setting: check the section and key "
                                          "written inside ${...}", REFERENCE))
    return issues


def _leaves(node: Dict[str, Any], path: Tuple[str, ...] = ()) -> Iterator[Tuple[str, str, str]]:
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _leaves(value, path + (str(key),))
        elif isinstance(value, str) and "${" in value:
            yield ".".join(path), str(key), value


def reference_cycles(config: Dict[str, Any]) -> List[ConfigIssue]:
    """One issue per circle of `${...}` references (a = ${b}, b = ${a}), at its first setting."""
    refs: Dict[str, List[str]] = {}
    for section, key, value in _leaves(config):
        refs[f"{section}.{key}"] = _REFERENCE.findall(value)
    issues, reported = [], set()
    for start in refs:
        circle = _circle_from(start, refs)
        if circle and frozenset(circle) not in reported:
            reported.add(frozenset(circle))
            section, key = circle[0].rsplit(".", 1)
            chain = " -> ".join(circle + circle[:1])
            issues.append(ConfigIssue(section, key, f"[{section}] {key}: the ${{...}} references {chain} go round "
                                      f"in a circle; set one of them to a value", REFERENCE))
    return issues


def _circle_from(start: str, refs: Dict[str, List[str]]) -> Optional[List[str]]:
    """The settings of a circle that `start` is part of, in order, or None."""
    stack = [(start, [start])]
    while stack:
        node, path = stack.pop()
        for ref in refs.get(node, []):
            if ref == start:
                return path
            if ref in refs and ref not in path:
                stack.append((ref, path + [ref]))
    return None
