"""Load, fill, check and resolve `config.cfg` files.

- `load_config(path, overrides)` reads a file and applies dotted overrides.
- `fill_config(config)` adds every default: the base training config, each
  factory's default config and every registered function's signature defaults.
- `missing_values(config)` lists what `fill_config` would add; `train` refuses
  a config until that list is empty.
- `resolve_section(config, "training")` builds the objects of one section.
"""
import collections.abc
import copy
import re
import typing
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import srsly
from confection import Config, ConfigValidationError

from .config_issues import get_section, reference_cycles, reference_issues, syntax_issues, validation_issues
from .errors import ConfigError, ConfigIssue
from .registry import FACTORY_DEFAULTS, FACTORY_SCORES, registry
from .settings import bad_values, raise_issues, unknown_keys

BASE_CONFIG = """
[paths]
train = null
dev = null
vectors = null
init_tok2vec = null
raw_text = null

[system]
seed = 0
gpu_allocator = null
n_threads = null

[nlp]
lang = "en"
pipeline = []
batch_size = 256

[components]

[corpora]

[corpora.train]
@readers = "workbench.Corpus.v1"
path = ${paths.train}

[corpora.dev]
@readers = "workbench.Corpus.v1"
path = ${paths.dev}

[training]
seed = ${system.seed}
gpu_allocator = ${system.gpu_allocator}
dropout = 0.1
accumulate_gradient = 1
patience = 1600
max_epochs = 0
max_steps = 20000
max_seconds = 0
max_cpu_seconds = 0
eval_frequency = 200
frozen_components = []
annotating_components = []
learn_rate_multipliers = {}
train_corpus = "corpora.train"
dev_corpus = "corpora.dev"

[training.logger]
@callbacks = "workbench.ConsoleLogger.v1"
progress_bar = true

[training.batcher]
@batchers = "workbench.batch_by_words.v1"
discard_oversize = false
tolerance = 0.2

[training.batcher.size]
@schedules = "compounding.v1"
start = 100
stop = 1000
compound = 1.001

[training.optimizer]
@optimizers = "Adam.v1"
beta1 = 0.9
beta2 = 0.999
L2_is_weight_decay = true
L2 = 0.01
grad_clip = 1.0
use_averages = true
eps = 0.00000001
learn_rate = 0.001

[training.score_weights]

[initialize]
vectors = ${paths.vectors}
init_tok2vec = ${paths.init_tok2vec}
"""

COMPONENTS = "components"
# Sections that every filled config has; overrides may name them even when a file leaves them out.
BASE_SECTIONS = ("paths", "system", "nlp", "corpora", "training", "initialize", "pretraining")


def load_config(
    path: Union[str, Path], overrides: Optional[Dict[str, Any]] = None
) -> Config:
    """Read a config file (not interpolated) and apply dotted overrides."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"Config file not found: {path}")
    if path.is_dir():
        raise ConfigError(f"{path} is a folder, not a config file: pass the path of its config.cfg.")
    return parse_config(read_config_text(path), overrides, source=str(path))


def read_config_text(path: Path) -> str:
    """The text of a config file; one clear sentence for an empty, binary or non-UTF-8 file."""
    data = path.read_bytes()
    if b"\0" in data:
        raise ConfigError(f"{path} is a binary file, not a config: a config is UTF-8 text with [section] headers "
                          f"and `key = value` lines.")
    try:
        text = data.decode("utf8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(f"{path} is not UTF-8 text (byte 0x{data[e.start]:02x} on line {line}): save it as "
                          f"UTF-8 and try again.") from None
    if not any(ln.strip() and not ln.lstrip().startswith(("#", ";")) for ln in text.splitlines()):
        raise ConfigError(f"{path} is empty: write a config into it, e.g. with "
                          f"`python -m workbench init config {path}`.")
    return text.lstrip("\ufeff")


def parse_config(
    text: str, overrides: Optional[Dict[str, Any]] = None, source: str = "<string>"
) -> Config:
    """Parse config text, naming the source in any error."""
    try:
        config = Config().from_str(add_parent_sections(text), interpolate=False)
    except Exception as e:  # confection raises several types for syntax errors
        issues = syntax_issues(text)  # at the lines of `text`, not of the text confection read
        detail = "; ".join(issue.message for issue in issues) if issues else str(e)
        raise ConfigError(f"Could not parse config {source}: {detail}", issues) from None
    check_section_names(config, source)
    if overrides:
        config = apply_overrides(config, overrides, source)
    return config


_HEADER = re.compile(r"^\[([^\[\]]+)\]\s*$")


def add_parent_sections(text: str) -> str:
    """Insert `[a]` before `[a.b]` when the file leaves the parent out, as excerpts
    of configs often do (e.g. `[components.ner]` with no `[components]`)."""
    lines = text.splitlines()
    defined = {m.group(1).strip() for m in map(_HEADER.match, lines) if m}
    out: List[str] = []
    for line in lines:
        m = _HEADER.match(line)
        if m:
            parts = m.group(1).strip().split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent not in defined:
                    out.extend([f"[{parent}]", ""])
                    defined.add(parent)
        out.append(line)
    return "\n".join(out) + "\n"


def check_section_names(config: Config, source: str = "<config>") -> None:
    """Reject the old `[nlp.pipeline.NAME]` form with the new spelling."""
    pipeline = config.get("nlp", {}).get("pipeline")
    if isinstance(pipeline, dict):
        names = ", ".join(sorted(pipeline)) or "NAME"
        first = sorted(pipeline)[0] if pipeline else "NAME"
        raise ConfigError(
            f"{source}: sections like [nlp.pipeline.{first}...] use an old form. "
            f"Write them as [components.{first}...] instead (components: {names}), "
            f"and list the names in [nlp] pipeline = [...].",
            [ConfigIssue("nlp", "pipeline", f"[nlp.pipeline.{first}] is an old form: write [components.{first}]")],
        )


def check_system(system: Dict[str, Any], source: str = "the config") -> None:
    """Refuse a bad [system] `n_threads` (see workbench.threads); unknown keys are
    refused with the other sections' (settings.unknown_keys)."""
    from .threads import check_n_threads

    value = system.get("n_threads")
    if not (isinstance(value, str) and "${" in value):  # a variable is checked once filled in
        check_n_threads(value)


def apply_overrides(config: Config, overrides: Dict[str, Any], source: str = "<config>") -> Config:
    """Set `section.key` values; the section must exist, the key may be new."""
    config = copy.deepcopy(config)
    for dotted, value in overrides.items():
        *sections, key = dotted.split(".")
        if not sections:
            raise ConfigError(
                f"Override '--{dotted}' needs a section, like --training.{dotted}."
            )
        node = config
        for i, name in enumerate(sections):
            if isinstance(node, dict) and name not in node and sections[0] in BASE_SECTIONS:
                node[name] = {}  # a base section the file leaves out, e.g. [paths]
            if not isinstance(node, dict) or name not in node:
                where = ".".join(sections[: i + 1])
                raise ConfigError(
                    f"Override '--{dotted}': section [{where}] is not in {source}. "
                    f"Check the spelling, or add the section to the config."
                )
            node = node[name]
        node[key] = value
    return Config(config, section_order=config.section_order, is_interpolated=False)


def parse_override_args(args: List[str]) -> Dict[str, Any]:
    """`["--training.max_epochs", "5", "--paths.train=x"]` -> {"training.max_epochs": 5, ...}."""
    result: Dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or "." not in arg:
            raise ConfigError(
                f"Unexpected argument '{arg}'. Overrides look like --section.key value."
            )
        name = arg[2:]
        if "=" in name:
            name, raw = name.split("=", 1)
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            raw = args[i + 1]
            i += 2
        else:
            raw = "true"  # a bare flag means true
            i += 1
        result[name.replace("-", "_")] = _parse_value(raw)
    return result


def _parse_value(raw: str) -> Any:
    try:
        return srsly.json_loads(raw)
    except ValueError:
        return raw


# ---------------------------------------------------------------- filling


def fill_config(config: Config, *, base: str = BASE_CONFIG) -> Config:
    """Return a complete config: base sections, factory defaults, signature defaults."""
    check_section_names(config)
    merged = _merge(Config().from_str(base, interpolate=False), config)
    merged = _fill_pipeline(merged)
    cycles = reference_cycles(merged)
    if cycles:
        raise ConfigError("; ".join(issue.message for issue in cycles) + ".", cycles)
    dangling = reference_issues(merged)
    if dangling:
        lines = "\n".join(f"  [{i.section}] {i.key} = {get_section(merged, i.section)[i.key]}: {i.message}" for i in dangling)
        raise ConfigError(f"The config refers to settings it does not have:\n{lines}", dangling)
    check_registered_names(merged)
    raise_issues(unknown_keys(merged, Config().from_str(base, interpolate=False)), "The config has unknown settings")
    check_system(merged.get("system") or {})
    as_promises = _factories_as_promises(merged)
    try:
        filled = registry.fill(Config(as_promises, is_interpolated=False), validate=True)
    except ConfigValidationError as e:
        raise ConfigError(format_validation_error(e), validation_issues(e, merged)) from None
    result = _promises_as_factories(filled)
    result = _fill_score_weights(result, config)
    result = Config(result, section_order=_section_order(result), is_interpolated=False)
    raise_issues(bad_values(interpolate(result)), "The config has invalid values")
    return result


def _fill_pipeline(config: Dict[str, Any]) -> Dict[str, Any]:
    """Merge each component's factory defaults under what the user wrote."""
    config = copy.deepcopy(dict(config))
    components = config.setdefault(COMPONENTS, {})
    pipeline = config.setdefault("nlp", {}).setdefault("pipeline", [])
    for name in pipeline:
        if name not in components:
            raise ConfigError(
                f"[nlp] pipeline lists '{name}', but there is no [components.{name}] "
                f"section. Add one with factory = \"...\", or remove the name."
            )
    for name, block in components.items():
        if not isinstance(block, dict) or "factory" not in block:
            if isinstance(block, dict) and "source" in block:
                continue
            raise ConfigError(
                f"[components.{name}] needs a factory, e.g. factory = \"tagger\". "
                f"Known factories: {', '.join(sorted(FACTORY_DEFAULTS))}."
            )
        factory = block["factory"]
        registry.get("factories", factory)  # clear error for unknown factories
        defaults = Config().from_str(FACTORY_DEFAULTS.get(factory, ""), interpolate=False)
        components[name] = _merge(defaults, block)
    # A component that is configured but not listed in [nlp] pipeline is still built:
    # the spec's snippets show [components.X] blocks without an [nlp] section.
    for name in components:
        if name not in pipeline:
            pipeline.append(name)
    return config


def _merge(defaults: Dict[str, Any], written: Dict[str, Any]) -> Dict[str, Any]:
    """Deep-merge `written` over `defaults`. A block that names another function
    replaces the default block whole, since its arguments differ."""
    out = copy.deepcopy(dict(defaults))
    for key, value in written.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            if _func_ref(value) != _func_ref(old) and _func_ref(value) is not None:
                out[key] = copy.deepcopy(value)
            else:
                out[key] = _merge(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _func_ref(block: Dict[str, Any]) -> Optional[Tuple[str, str]]:
    for key, value in block.items():
        if isinstance(key, str) and key.startswith("@"):
            return (key, value)
    return None


def _factories_as_promises(config: Dict[str, Any]) -> Dict[str, Any]:
    config = copy.deepcopy(dict(config))
    for name, block in config.get(COMPONENTS, {}).items():
        if "factory" in block:
            block["@factories"] = block.pop("factory")
    return config


def _promises_as_factories(config: Dict[str, Any]) -> Dict[str, Any]:
    config = copy.deepcopy(dict(config))
    for name, block in config.get(COMPONENTS, {}).items():
        if "@factories" in block:
            factory = block.pop("@factories")
            config[COMPONENTS][name] = {"factory": factory, **block}
    return config


def _fill_score_weights(config: Dict[str, Any], written: Dict[str, Any]) -> Dict[str, Any]:
    """Weights for the scores of every component, split evenly, unless written."""
    written_weights = written.get("training", {}).get("score_weights", {})
    if written_weights:
        return config
    weights: Dict[str, float] = {}
    for block in config.get(COMPONENTS, {}).values():
        factory = block.get("factory")
        weights.update(FACTORY_SCORES[factory](block) if factory in FACTORY_SCORES else {})
    if weights:
        total = sum(weights.values())
        weights = {k: round(v / total, 2) for k, v in weights.items()}
    config.setdefault("training", {})["score_weights"] = weights
    return config


def _section_order(config: Dict[str, Any]) -> List[str]:
    order = ["paths", "system", "nlp", "components", "corpora", "training", "pretraining", "initialize"]
    return [s for s in order if s in config] + [s for s in config if s not in order]


# ---------------------------------------------------------------- checking


def iter_promises(node: Any, path: Tuple[str, ...] = ()) -> Iterator[Tuple[Tuple[str, ...], str, str]]:
    """Yield (section path, registry name, function name) for every `@` key."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.startswith("@"):
                yield path, key[1:], value
            elif isinstance(value, dict):
                yield from iter_promises(value, path + (key,))


def check_registered_names(config: Dict[str, Any]) -> None:
    """Raise for the first unknown registry or function name, naming the section."""
    for path, reg_name, func_name in iter_promises(config):
        try:
            registry.get(reg_name, func_name)
        except ConfigError as e:
            raise type(e)(f"[{'.'.join(path)}] {e}") from None


def missing_values(config: Config) -> List[Tuple[str, str, Any]]:
    """Every (section, key, default) that `fill_config` adds to this config."""
    filled = fill_config(config)
    return [(s, k, v) for s, k, v in _diff(filled, config, ())]


def _diff(filled: Dict[str, Any], written: Dict[str, Any], path: Tuple[str, ...]):
    for key, value in filled.items():
        if key not in written:
            if isinstance(value, dict) and value:
                # a whole missing section: list its leaves
                yield from _diff(value, {}, path + (key,))
            else:
                yield ".".join(path), key, value
        elif isinstance(value, dict) and isinstance(written[key], dict):
            yield from _diff(value, written[key], path + (key,))


def require_complete(config: Config, source: str = "the config") -> None:
    """Refuse a config with missing values, listing every one by section."""
    missing = missing_values(config)
    if missing:
        lines = "\n".join(
            f"  [{section}] {key}  (default: {srsly.json_dumps(default) if not isinstance(default, dict) else '{}'})"
            for section, key, default in missing
        )
        raise ConfigError(
            f"{source} has {len(missing)} missing value(s):\n{lines}\n"
            f"Run `python -m workbench init fill-config IN OUT` to write them all, "
            f"or add them by hand."
        )


def format_validation_error(e: ConfigValidationError) -> str:
    lines = []
    for err in e.errors or []:
        loc = " -> ".join(str(p) for p in err.get("loc", []))
        lines.append(f"  [{loc}] {err.get('msg')}")
    title = (e.title or "").strip() or "The config has invalid values"
    return f"{title}:\n" + "\n".join(lines) if lines else str(e)


# ---------------------------------------------------------------- resolving


def interpolate(config: Config) -> Config:
    try:
        return Config(config, is_interpolated=False).interpolate()
    except Exception as e:
        raise ConfigError(f"Could not fill in ${{...}} variables: {e}", reference_issues(config)) from None


def resolve_block(block: Dict[str, Any], where: str) -> Any:
    """Build the objects of one (interpolated) block, naming it in errors."""
    check_registered_names({where: block})
    block = coerce_int_keys(block, where)
    try:
        return registry.resolve({"x": block}, validate=True)["x"]
    except ConfigValidationError as e:
        raise ConfigError(f"[{where}] " + format_validation_error(e), validation_issues(e, block, where)) from None
    except ConfigError as e:  # raised by a registered function while building: say which block
        if str(e).startswith("["):
            raise
        raise ConfigError(f"[{where}] {e}", e.issues or [ConfigIssue(where, None, str(e), "value")]) from None


def coerce_int_keys(node: Any, where: str) -> Any:
    """JSON objects in a .cfg have string keys: give an argument typed `Dict[int, ...]`
    (e.g. a key2row table for thinc's remap_ids) int keys, naming any key that is not one."""
    if not isinstance(node, dict):
        return node
    out = {key: coerce_int_keys(value, f"{where}.{key}") for key, value in node.items()}
    ref = _func_ref(node)
    if ref is None:
        return out
    try:
        func = registry.get(ref[0][1:], ref[1])
        hints = typing.get_type_hints(func)
    except Exception:  # unknown names are reported elsewhere; odd annotations are left alone
        return out
    for key, value in out.items():
        if isinstance(value, dict) and value and _func_ref(value) is None and _int_keyed(hints.get(key)):
            out[key] = {_int_key(k, f"{where}.{key}"): v for k, v in value.items()}
    return out


def _int_keyed(hint: Any) -> bool:
    """True for Dict[int, X] / Mapping[int, X], also inside Optional[...]."""
    if hint is None:
        return False
    origin = typing.get_origin(hint)
    if origin is Union:
        return any(_int_keyed(arg) for arg in typing.get_args(hint))
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        args = typing.get_args(hint)
        return bool(args) and args[0] is int
    return False


def _int_key(key: Any, where: str) -> int:
    if isinstance(key, int):
        return key
    try:
        return int(str(key).strip())
    except ValueError:
        raise ConfigError(
            f"[{where}] has the key {key!r}, but this setting takes integer keys (Dict[int, ...]). "
            f"Write each key as an integer in quotes, e.g. {{\"42\": 0}}; the id of a word "
            f"is nlp.vocab.strings[word]."
        ) from None
