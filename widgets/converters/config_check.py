"""Config checks as plain data: every problem as an `Issue(section, key, message)`.

The checks reuse the engine and read its structured errors (`ConfigError.issues`,
see `workbench.config_issues`): `parse_config` for syntax, the registries for `@`
names and factories, `fill_config` for types and required values (confection
validates against each function's signature), `interpolate` for `${...}`
references and `missing_values` for the defaults that would be added. Each issue
names the (section, key) it is about, so an editor can show it beside its key.
Whatever the engine's checks add to `ConfigError.issues` (unknown keys, ranges)
shows up here with no change.
"""
import copy
import inspect
import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

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
from workbench.config_issues import get_section, show, signature_of
from workbench.errors import ConfigError, ConfigIssue
from workbench.registry import registry

ERROR, MISSING = "error", "missing"


@dataclass(frozen=True)
class Issue:
    """One problem. `section` is dotted ("components.tagger.model"), "" when the
    config as a whole is concerned; `key` is None when the section is; `line` is
    the 1-based line of the config text when known; `kind` is the engine's
    (`ConfigIssue.kind`: "type", "missing", "unknown", "syntax", ...)."""

    section: str
    key: Optional[str]
    message: str
    level: str = ERROR
    line: Optional[int] = None
    kind: str = "invalid"

    @classmethod
    def of(cls, issue: ConfigIssue) -> "Issue":
        return cls(issue.section, issue.key, issue.message, ERROR, issue.line, issue.kind)

    @property
    def where(self) -> str:
        if not self.section:
            return "the config"
        return f"[{self.section}] {self.key}" if self.key else f"[{self.section}]"


def issues_of(e: ConfigError) -> List[Issue]:
    """The engine's issues of an error; one issue for the whole config when it has none."""
    return [Issue.of(i) for i in e.issues] or [Issue("", None, str(e).strip())]


# ------------------------------------------------------------------ entry points


def check_text(text: str) -> Tuple[Optional[Config], List[Issue]]:
    """Parse and check config text: (the config or None when it does not parse, issues)."""
    try:
        config = parse_config(text)
    except ConfigError as e:
        return None, _with_lines(issues_of(e), text)
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
        return _with_lines(issues_of(e), text)
    issues += registry_issues(config)
    if issues:
        return _with_lines(issues + base_type_issues(config), text)  # fill_config would stop there
    issues += base_type_issues(config)
    filled, fill_issues = _fill_collecting(config, max_errors)
    seen = {(i.section, i.key) for i in issues if i.key is not None}
    issues += [i for i in fill_issues if i.key is None or (i.section, i.key) not in seen]  # one per key
    if filled is not None:
        issues += interpolation_issues(filled)
        if with_missing and not issues:
            issues += [Issue(s, k, f"not set; filling adds the default {show(v)}", MISSING, kind=MISSING)
                       for s, k, v in missing_values(config)]
    return _with_lines(issues, text)


# ------------------------------------------------------------------ line numbers


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
    return [i if i.line is not None else
            Issue(i.section, i.key, i.message, i.level, _line_of_key(text, i.section, i.key), i.kind)
            for i in issues]


# ------------------------------------------------------------------ registries


def registry_issues(config: Dict[str, Any]) -> List[Issue]:
    """Every unknown registry, function or factory name (not only the first)."""
    issues = []
    for path, reg_name, func_name in iter_promises(config):
        try:
            registry.get(reg_name, func_name)
        except ConfigError as e:
            issues.append(Issue(".".join(path), "@" + reg_name, str(e), kind="registry"))
    for name, block in (config.get("components") or {}).items():
        if isinstance(block, dict) and "factory" in block:
            try:
                registry.get("factories", block["factory"])
            except ConfigError as e:
                issues.append(Issue(f"components.{name}", "factory", str(e), kind="registry"))
        elif isinstance(block, dict) and "source" not in block:
            issues.append(Issue(f"components.{name}", "factory",
                                f"missing: every component needs factory = \"...\" "
                                f"(one of {', '.join(sorted(registry.factories.get_all()))})", kind=MISSING))
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
                issues.append(Issue(section, key, f"wrong type: {show(value)} should be a {want}", kind="type"))
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
            if not e.issues:
                issues.append(Issue("", None, str(e).strip()))
                return None, issues
            for issue in map(Issue.of, e.issues):
                if (issue.section, issue.key) in seen:
                    return None, issues
                seen.add((issue.section, issue.key))
                issues.append(issue)
                if not _use_default(work, issue.section, issue.key):
                    return None, issues
        except Exception as e:  # anything else the engine raises while filling
            issues.append(Issue("", None, f"{type(e).__name__}: {e}"))
            return None, issues
    return None, issues


def _use_default(config: Dict[str, Any], section: str, key: Optional[str]) -> bool:
    """Put the signature default in place of a bad value (drop an unknown argument), so
    that filling can go on to the next problem. False when there is nothing to put."""
    node = get_section(config, section)
    if not isinstance(node, dict) or key not in node:
        return False
    params = signature_of(node)
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


# ------------------------------------------------------------------ interpolation


def interpolation_issues(config: Config) -> List[Issue]:
    try:
        interpolate(config)
    except ConfigError as e:
        return issues_of(e)
    return []
