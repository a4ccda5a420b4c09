"""Config checks as plain data: every problem as an `Issue(section, key, message)`.

The checks reuse the engine: `parse_config` for syntax, the registries for `@`
names and factories, `fill_config` for types and required values (confection
validates against each function's signature), `interpolate` for `${...}`
references and `missing_values` for the defaults that would be added. The
engine's messages are reworded a little and mapped to the (section, key) they
are about, so an editor can show each one beside its key.
"""
import copy
import inspect
import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from confection import Config

from workbench.config import (
    BASE_CONFIG,
    check_section_names,
    fill_config,
    interpolate,
    iter_promises,
    missing_values,
    parse_config,
)
from workbench.errors import ConfigError
from workbench.registry import registry

ERROR, MISSING = "error", "missing"


@dataclass(frozen=True)
class Issue:
    """One problem. `section` is dotted ("components.tagger.model"), "" when the
    config as a whole is concerned; `key` is None when the section is; `line` is
    the 1-based line of the config text when known."""

    section: str
    key: Optional[str]
    message: str
    level: str = ERROR
    line: Optional[int] = None

    @property
    def where(self) -> str:
        if not self.section:
            return "the config"
        return f"[{self.section}] {self.key}" if self.key else f"[{self.section}]"


# ------------------------------------------------------------------ entry points


def check_text(text: str) -> Tuple[Optional[Config], List[Issue]]:
    """Parse and check config text: (the config or None when it does not parse, issues)."""
    try:
        config = parse_config(text)
    except ConfigError as e:
        return None, _with_lines([parse_issue(text, str(e))], text)
    return config, check_config(config, text=text)


def check_config(config: Union[Config, Dict[str, Any]], *, text: Optional[str] = None,
                 with_missing: bool = True, max_errors: int = 20) -> List[Issue]:
    """Every problem of a parsed config that the engine would raise for, plus (as
    level "missing") each value `fill_config` would add. `text` (when given) lets
    issues carry line numbers."""
    config = Config(copy.deepcopy(dict(config)), is_interpolated=False)
    issues: List[Issue] = []
    try:
        check_section_names(config)
    except ConfigError as e:
        issues.append(Issue("nlp", "pipeline", str(e)))
        return _with_lines(issues, text)
    issues += registry_issues(config)
    if issues:
        return _with_lines(issues + base_type_issues(config), text)  # fill_config would stop there
    issues += base_type_issues(config)
    filled, fill_issues = _fill_collecting(config, max_errors)
    issues += fill_issues
    if filled is not None:
        issues += interpolation_issues(filled)
        if with_missing and not issues:
            issues += [Issue(s, k, f"not set; filling adds the default {_show(v)}", MISSING)
                       for s, k, v in missing_values(config)]
    return _with_lines(issues, text)


# ------------------------------------------------------------------ syntax

_LINE = re.compile(r"\[line (\d+)\]:? ?'?(.*?)(?:\\n)?'?$", re.M)
_OPTION = re.compile(r"option '([^']+)' in section '([^']+)'")
_ARROWS = re.compile(r"^\s*([\w.\-]+(?:\s*->\s*[\w.\-@]+)+)\s+(.+)$", re.M)


def parse_issue(text: str, message: str) -> Issue:
    """Map a parse error to the line (and key) it names."""
    plain = _strip_parse_noise(message)
    m = _OPTION.search(message)
    if m and "already exists" in message:
        key, section = m.group(1), m.group(2)
        n = _LINE.search(message)
        where = f" (line {n.group(1)})" if n else ""
        return Issue(section, key, f"'{key}' is set twice in [{section}]{where}: is a [section] header above "
                                   f"it misspelled, or missing its closing ']'?", line=int(n.group(1)) if n else None)
    if m:
        return Issue(m.group(2), m.group(1), plain, line=_line_of_key(text, m.group(2), m.group(1)))
    m = _LINE.search(message)
    if m:
        number, content = int(m.group(1)), m.group(2).strip()
        line = _find_line(text, content) or number
        section, key = _locate_line(text, line)
        return Issue(section, key, f"line {line} is not `key = value` or `[section]`: {content!r}", line=line)
    m = _ARROWS.search(message)
    if m:
        parts = [p.strip() for p in m.group(1).split("->")]
        return Issue(".".join(parts[:-1]), parts[-1], _reword(m.group(2)))
    return Issue("", None, plain)


def _strip_parse_noise(message: str) -> str:
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    noise = ("Config validation error", "Make sure the sections and values are formatted correctly.")
    kept = [ln for ln in lines if ln not in noise]
    return " ".join(kept).replace("Could not parse config <string>: ", "")


def _find_line(text: str, content: str) -> Optional[int]:
    for i, line in enumerate(text.splitlines(), 1):
        if content and line.strip() == content:
            return i
    return None


def _locate_line(text: str, line: int) -> Tuple[str, Optional[str]]:
    """The (section, key) a line of config text belongs to."""
    section = ""
    lines = text.splitlines()
    for ln in lines[:line]:
        m = re.match(r"^\s*\[([^\[\]]+)\]\s*$", ln)
        if m:
            section = m.group(1).strip()
    target = lines[line - 1] if 0 < line <= len(lines) else ""
    m = re.match(r"^\s*([^=\s\[]+)\s*=", target)
    return section, (m.group(1) if m else None)


def _line_of_key(text: Optional[str], section: str, key: Optional[str]) -> Optional[int]:
    if not text:
        return None
    current = None
    for i, ln in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*\[([^\[\]]+)\]\s*$", ln)
        if m:
            current = m.group(1).strip()
            if key is None and current == section:
                return i
            continue
        if current == section and key is not None and re.match(rf"^\s*{re.escape(key)}\s*=", ln):
            return i
    return None


def _with_lines(issues: List[Issue], text: Optional[str]) -> List[Issue]:
    if not text:
        return issues
    return [i if i.line is not None else Issue(i.section, i.key, i.message, i.level, _line_of_key(text, i.section, i.key))
            for i in issues]


# ------------------------------------------------------------------ registries


def registry_issues(config: Dict[str, Any]) -> List[Issue]:
    """Every unknown registry, function or factory name (not only the first)."""
    issues = []
    for path, reg_name, func_name in iter_promises(config):
        try:
            registry.get(reg_name, func_name)
        except ConfigError as e:
            issues.append(Issue(".".join(path), "@" + reg_name, str(e)))
    for name, block in (config.get("components") or {}).items():
        if isinstance(block, dict) and "factory" in block:
            try:
                registry.get("factories", block["factory"])
            except ConfigError as e:
                issues.append(Issue(f"components.{name}", "factory", str(e)))
        elif isinstance(block, dict) and "source" not in block:
            issues.append(Issue(f"components.{name}", "factory",
                                f"missing: every component needs factory = \"...\" "
                                f"(one of {', '.join(sorted(registry.factories.get_all()))})"))
    pipeline = (config.get("nlp") or {}).get("pipeline") or []
    for name in pipeline if isinstance(pipeline, list) else []:
        if name not in (config.get("components") or {}):
            issues.append(Issue("nlp", "pipeline", f"lists '{name}', but there is no [components.{name}] section"))
    return issues


_BASE = Config().from_str(BASE_CONFIG, interpolate=False)


def base_type_issues(config: Dict[str, Any]) -> List[Issue]:
    """Plain settings of the base sections ([training] dropout, [nlp] batch_size, ...)
    that no function signature checks: a number, flag or list where the base has one."""
    issues = []
    for section in ("system", "nlp", "training"):
        written, base = config.get(section) or {}, _BASE.get(section) or {}
        for key, default in base.items():
            if key not in written or isinstance(default, dict) or default is None:
                continue
            value = written[key]
            if isinstance(value, str) and "${" in value:
                continue
            want = _kind(default)
            if want and _kind(value) != want and not (want == "number" and isinstance(value, (int, float))
                                                       and not isinstance(value, bool)):
                issues.append(Issue(section, key, f"wrong type: {_show(value)} should be a {want}"))
    return issues


def _kind(value: Any) -> Optional[str]:
    if isinstance(value, bool):
        return "true/false value"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return None


# ------------------------------------------------------------------ filling


_VALIDATION = re.compile(r"^\s*\[([^\]]+)\]\s+(.*)$", re.M)


def _fill_collecting(config: Config, max_errors: int) -> Tuple[Optional[Config], List[Issue]]:
    """fill_config; on a bad value, note it, put the signature default in its place
    (or drop it) and try again, so one pass reports several problems."""
    issues: List[Issue] = []
    work = copy.deepcopy(dict(config))
    seen = set()
    for _ in range(max_errors):
        try:
            return fill_config(Config(work, is_interpolated=False)), issues
        except ConfigError as e:
            found = [Issue(i.section, i.key, i.message) for i in e.issues] or validation_issues(str(e), work)
            if not found:
                issues.append(_general_issue(str(e), work))
                return None, issues
            for issue in found:
                if (issue.section, issue.key) in seen:
                    return None, issues
                seen.add((issue.section, issue.key))
                issues.append(issue)
                if not _use_default(work, issue.section, issue.key):
                    return None, issues
        except Exception as e:  # anything else the engine raises while filling
            issues.append(_general_issue(f"{type(e).__name__}: {e}", work))
            return None, issues
    return None, issues


def validation_issues(message: str, config: Dict[str, Any]) -> List[Issue]:
    """The `[a.b -> key] msg` lines of a fill_config error, mapped onto sections."""
    out = []
    for m in _VALIDATION.finditer(message):
        parts = [p.strip() for p in m.group(1).split("->")]
        if len(parts) < 2:
            continue
        path, key = ".".join(parts[:-1]), parts[-1]
        out.append(Issue(find_section(config, path) or path, key, _reword(m.group(2))))
    return out


def _general_issue(message: str, config: Dict[str, Any]) -> Issue:
    """An error without a `[loc]` line: find a section it names, if any."""
    m = _OPTION.search(message)
    if m:
        return Issue(m.group(2), m.group(1), _reword_substitution(message))
    for name in re.findall(r"\[([\w.\-]+)\]", message):
        if find_section(config, name) is not None:
            return Issue(find_section(config, name), None, message)
    return Issue("", None, message.strip())


def find_section(config: Dict[str, Any], path: str) -> Optional[str]:
    """The dotted section of `config` named `path`, or ending with it (confection names
    component blocks without the `components.` prefix, corpora without `corpora.`)."""
    sections = list(iter_sections(config))
    if path in sections:
        return path
    ends = [s for s in sections if s.endswith("." + path)]
    return ends[0] if ends else None


def iter_sections(node: Dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in node.items():
        if isinstance(value, dict):
            name = f"{prefix}.{key}" if prefix else str(key)
            yield name
            yield from iter_sections(value, name)


def _use_default(config: Dict[str, Any], section: str, key: Optional[str]) -> bool:
    """Put the signature default in place of a bad value (drop an unknown argument), so
    that filling can go on to the next problem. False when there is nothing to put."""
    node: Any = config
    for part in section.split(".") if section else []:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    if not isinstance(node, dict) or key not in node:
        return False
    params = _signature_of(node)
    if params is None:
        return False
    if key not in params:
        del node[key]
        return True
    default = params[key].default
    if default is inspect.Parameter.empty:
        return False
    try:
        json.dumps(default)
    except TypeError:
        return False
    node[key] = default
    return True


def _signature_of(block: Dict[str, Any]):
    ref = next(((k[1:], v) for k, v in block.items() if isinstance(k, str) and k.startswith("@")), None)
    if ref is None and "factory" in block:
        ref = ("factories", block["factory"])
    if ref is None:
        return None
    try:
        return inspect.signature(registry.get(*ref)).parameters
    except (ConfigError, TypeError, ValueError):
        return None


def _reword(msg: str) -> str:
    """confection/pydantic wording -> plain words."""
    msg = msg.strip()
    m = re.match(r"^(?:at root: )?(.*) is not <class '(\w+)'>$", msg)
    if m:
        names = {"int": "a whole number", "float": "a number", "str": "a string", "bool": "true or false",
                 "list": "a list", "dict": "a section"}
        return f"wrong type: {m.group(1)} should be {names.get(m.group(2), m.group(2))}"
    m = re.match(r"^unexpected argument: '(.+)'$", msg)
    if m:
        return f"unknown setting '{m.group(1)}': the function of this section takes no such argument"
    m = re.match(r"^missing required argument: '(.+)'$", msg)
    if m:
        return f"missing value: '{m.group(1)}' has no default, so it must be written"
    if msg.lower() in ("field required", "missing", "field required."):
        return "missing value: this setting has no default, so it must be written"
    if "conflicting values" in msg:
        return "conflicting values: this key is set both as a value and as a [section]"
    return msg.replace("at root: ", "")


# ------------------------------------------------------------------ interpolation


def interpolation_issues(config: Config) -> List[Issue]:
    try:
        interpolate(config)
    except ConfigError as e:
        msg = str(e)
        m = _OPTION.search(msg)
        if m:
            return [Issue(m.group(2), m.group(1), _reword_substitution(msg))]
        return [Issue("", None, msg.strip())]
    return []


def _reword_substitution(msg: str) -> str:
    ref = re.search(r"interpolation key '([^']+)'", msg)
    if ref:
        return f"${{{ref.group(1)}}} names no setting: check the section and key written inside ${{...}}"
    return _reword(msg.replace("Config validation error", "").strip())


def _show(value: Any) -> str:
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)

