"""Every setting is declared once, with its type and its range; anything else is refused.

A block that names a registered function (`@architectures = ...`, a component's
`factory = ...`) is declared by that function's signature. The plain sections
([nlp], [system], [training], [initialize], [pretraining]) are declared below as
typed signatures of the same kind. Ranges are pydantic constraints inside the
annotation, e.g. `width: PositiveInt` or `dropout: Fraction`; confection checks
the types of function arguments, and `check_settings` checks the rest:

- `unknown_keys(config)`: keys no signature declares, with the closest known key;
- `bad_values(resolved)`: values outside their declared type or range.

Both return `ConfigIssue` records; `fill_config` raises them all in one ConfigError
before any data is read. `checked` applies the same ranges to direct Python calls.
"""
import difflib
import functools
import inspect
import typing
from typing import Annotated, Any, Callable, Dict, Iterator, List, Literal, Optional, Tuple

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from .errors import ConfigError, ConfigIssue

PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]  # dropout, mask_prob: [0, 1)
Probability = Annotated[float, Field(ge=0, le=1)]  # [0, 1]
Block = Dict[str, Any]  # a block that builds an object (`@optimizers = ...`)
GpuAllocator = Optional[Literal["pytorch"]]


# ---------------------------------------------------------------- the plain sections


def nlp_section(lang: Literal["en"] = "en", pipeline: List[str] = [], batch_size: PositiveInt = 256):  # noqa: B006
    """[nlp]: the language, the component order, the batch size of nlp.pipe."""


def system_section(seed: Optional[int] = 0, gpu_allocator: GpuAllocator = None, n_threads: Optional[PositiveInt] = None):
    """[system]: the random seed; gpu_allocator = "pytorch" routes cupy's memory through
    torch's pool on a GPU (no effect on CPU); n_threads, the threads of the thread policy
    (workbench.threads; null: the cores other processes leave idle)."""


def training_section(
    seed: Optional[int] = 0,
    gpu_allocator: GpuAllocator = None,
    dropout: Fraction = 0.1,
    accumulate_gradient: PositiveInt = 1,
    patience: NonNegativeInt = 1600,
    max_epochs: NonNegativeInt = 0,
    max_steps: NonNegativeInt = 20000,
    max_seconds: NonNegativeFloat = 0,  # wall-clock budget of the loop (evaluations included); 0: none
    max_cpu_seconds: NonNegativeFloat = 0,  # CPU budget of the loop: this process's CPU seconds, all threads; 0: none
    eval_frequency: PositiveInt = 200,
    frozen_components: List[str] = [],  # noqa: B006
    annotating_components: List[str] = [],  # noqa: B006
    learn_rate_multipliers: Dict[str, NonNegativeFloat] = {},  # noqa: B006  (names: checked against the pipeline)
    train_corpus: str = "corpora.train",
    dev_corpus: str = "corpora.dev",
    logger: Optional[Block] = None,
    batcher: Optional[Block] = None,
    optimizer: Optional[Block] = None,
    score_weights: Dict[str, Optional[float]] = {},  # noqa: B006
):
    """[training]: read by workbench.training.loop.train."""


def initialize_section(vectors: Optional[str] = None, init_tok2vec: Optional[str] = None):
    """[initialize]: vectors to load and pretrained tok2vec weights, before training."""


def pretraining_section(
    max_epochs: PositiveInt = 1000,
    dropout: Fraction = 0.2,
    n_save_every: Optional[PositiveInt] = None,
    n_save_epoch: Optional[PositiveInt] = None,
    component: str = "tok2vec",
    layer: str = "",
    corpus: str = "corpora.pretrain",
    mask_prob: Fraction = 0.15,
    predict: Literal["all", "masked"] = "all",
    seed: Optional[int] = 0,
    batcher: Optional[Block] = None,
    objective: Optional[Block] = None,
    optimizer: Optional[Block] = None,
):
    """[pretraining]: read by workbench.pretraining.loop.pretrain."""


SECTIONS: Dict[str, Callable] = {
    "nlp": nlp_section,
    "system": system_section,
    "training": training_section,
    "initialize": initialize_section,
    "pretraining": pretraining_section,
}
FREE_SECTIONS = ("paths",)  # variables for ${paths.x}: any name

# Ranges of arguments of functions the workbench registers from thinc (their
# signatures are not ours to annotate): registry name, function -> {argument: type}.
FOREIGN: Dict[Tuple[str, str], Dict[str, Any]] = {
    ("optimizers", "Adam.v1"): {"learn_rate": PositiveFloat, "beta1": Fraction, "beta2": Fraction,
                                 "eps": PositiveFloat, "L2": NonNegativeFloat, "grad_clip": NonNegativeFloat},
    ("optimizers", "SGD.v1"): {"learn_rate": PositiveFloat, "L2": NonNegativeFloat, "grad_clip": NonNegativeFloat},
    ("schedules", "compounding.v1"): {"start": PositiveFloat, "stop": PositiveFloat, "compound": PositiveFloat},
}


def known_section_keys(section: str, base: Optional[Dict[str, Any]] = None) -> List[str]:
    """The keys [section] takes: its declared signature, plus any key the base config
    gives it (so that a key added there is known at once; a test checks it is declared)."""
    keys = list(inspect.signature(SECTIONS[section]).parameters)
    extra = [k for k in (base or {}).get(section, {}) if k not in keys]
    return keys + extra


# ---------------------------------------------------------------- unknown keys


def unknown_keys(config: Dict[str, Any], base: Optional[Dict[str, Any]] = None) -> List[ConfigIssue]:
    """Every key that no section schema or function signature declares."""
    issues: List[ConfigIssue] = []
    for section, node in config.items():
        if not isinstance(node, dict) or section in FREE_SECTIONS:
            continue
        if section in SECTIONS:
            known = known_section_keys(section, base)
            for key in node:
                if key not in known:
                    issues.append(_unknown(section, key, known, f"[{section}]"))
        for path, block in _blocks(node, (section,)):
            issues.extend(_unknown_in_block(path, block))
    return issues


def _blocks(node: Dict[str, Any], path: Tuple[str, ...]) -> Iterator[Tuple[Tuple[str, ...], Dict[str, Any]]]:
    """(path, block) of every function block under `node` (components count as blocks)."""
    for key, value in node.items():
        if not isinstance(value, dict):
            continue
        sub = path + (str(key),)
        if _function_of(value, sub) is not None:
            yield sub, value
        yield from _blocks(value, sub)


def _function_of(block: Dict[str, Any], path: Tuple[str, ...]) -> Optional[Tuple[str, str]]:
    """(registry, name) of the function a block builds, or None."""
    for key, value in block.items():
        if isinstance(key, str) and key.startswith("@"):
            return key[1:], str(value)
    if len(path) == 2 and path[0] == "components" and "factory" in block:
        return "factories", str(block["factory"])
    return None


def _lookup(reg_name: str, func_name: str) -> Optional[Callable]:
    from .registry import registry

    try:
        return registry.get(reg_name, func_name)
    except ConfigError:  # unknown names are reported by check_registered_names
        return None


def _params(func: Callable) -> Optional[Dict[str, inspect.Parameter]]:
    """The named parameters, or None when the function takes **kwargs (anything goes)."""
    params = inspect.signature(func).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return {k: p for k, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL}


def _unknown_in_block(path: Tuple[str, ...], block: Dict[str, Any]) -> List[ConfigIssue]:
    reg_name, func_name = _function_of(block, path)
    func = _lookup(reg_name, func_name)
    params = _params(func) if func is not None else None
    if params is None:
        return []
    where = f"[{'.'.join(path)}]"
    ignore = {"factory", "*"} | {k for k in block if isinstance(k, str) and k.startswith("@")}
    issues = []
    for key, value in block.items():
        if key in ignore or key in params:
            continue
        if isinstance(value, dict) and getattr(func, "builds_listener", False):
            issues.append(_under_listener(path, key, func_name, block))
        else:
            issues.append(_unknown(".".join(path), key, list(params), f"{where} ({func_name})"))
    return issues


def _unknown(section: str, key: str, known: List[str], where: str) -> ConfigIssue:
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    listed = ", ".join(known) if known else "no settings"
    return ConfigIssue(section, str(key), f"{where}: unknown setting '{key}'.{hint} It takes: {listed}.", "unknown")


def _under_listener(path: Tuple[str, ...], key: str, func_name: str, block: Dict[str, Any]) -> ConfigIssue:
    section = ".".join(path)
    component = path[1] if len(path) > 1 and path[0] == "components" else "the component"
    upstream = str(block.get("upstream", "*"))
    if upstream == "*":  # the nearest component of the listener's kind, by its usual name
        upstream = "transformer" if "Transformer" in func_name else "tok2vec"
    message = (
        f"[{section}.{key}] is written under a listener ({func_name}), which does not take '{key}': "
        f"a listener reads the embedding of another component. Either put the block under that "
        f"component (e.g. [components.{upstream}.model.{key}]), or make '{component}' independent: "
        f"replace [{section}] with a full embedding block (@architectures = \"workbench.Tok2Vec.v1\" "
        f"with its own embed and encode)."
    )
    return ConfigIssue(section, str(key), message, "under_listener")


# ---------------------------------------------------------------- values


_ADAPTERS: Dict[Any, TypeAdapter] = {}


def _adapter(annotation: Any) -> TypeAdapter:
    key = repr(annotation)
    if key not in _ADAPTERS:
        _ADAPTERS[key] = TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
    return _ADAPTERS[key]


def value_problem(value: Any, annotation: Any, *, strict: bool) -> Optional[str]:
    """None if `value` fits `annotation` (type and declared range), else why not."""
    if annotation is inspect.Parameter.empty:
        return None
    try:
        _adapter(annotation).validate_python(value, strict=strict)
    except ValidationError as e:
        errors = e.errors()  # one per branch of a Union: prefer a range error over a type error
        err = next((x for x in errors if not str(x.get("type", "")).endswith("_type")), errors[0])
        return str(err.get("msg", e)).replace("Input should be", "it should be")
    except Exception:  # an annotation pydantic cannot check: confection checked its type
        return None
    return None


def has_range(annotation: Any) -> bool:
    """Whether an annotation carries a constraint (Annotated[...] metadata or a Literal)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated or origin is Literal:
        return True
    return any(has_range(arg) for arg in typing.get_args(annotation))


def bad_values(resolved: Dict[str, Any]) -> List[ConfigIssue]:
    """Values of an interpolated config outside their declared type or range."""
    issues: List[ConfigIssue] = []
    for section, func in SECTIONS.items():
        node = resolved.get(section)
        if not isinstance(node, dict):
            continue
        hints = typing.get_type_hints(func, include_extras=True)
        for key, value in node.items():
            if key in hints and not _is_block(value):
                problem = value_problem(value, hints[key], strict=True)
                if problem:
                    issues.append(_bad(section, key, value, problem))
    for section, node in resolved.items():
        if isinstance(node, dict) and section not in FREE_SECTIONS:
            for path, block in _blocks(node, (section,)):
                issues.extend(_bad_in_block(path, block))
    return issues


def _is_block(value: Any) -> bool:
    return isinstance(value, dict) and any(isinstance(k, str) and k.startswith("@") for k in value)


def _bad_in_block(path: Tuple[str, ...], block: Dict[str, Any]) -> List[ConfigIssue]:
    reg_name, func_name = _function_of(block, path)
    func = _lookup(reg_name, func_name)
    if func is None:
        return []
    hints = dict(FOREIGN.get((reg_name, func_name), {}))
    try:
        hints.update({k: v for k, v in typing.get_type_hints(func, include_extras=True).items() if has_range(v)})
    except Exception:  # unresolvable annotations: confection reports what it can
        pass
    issues = []
    for key, value in block.items():
        if key in hints and not _is_block(value) and not _is_reference(value):
            problem = value_problem(value, hints[key], strict=False)
            if problem:
                issues.append(_bad(".".join(path), key, value, problem))
    return issues


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${")


def _bad(section: str, key: str, value: Any, problem: str) -> ConfigIssue:
    return ConfigIssue(section, str(key), f"[{section}] {key} = {value!r}: {problem}.", "value")


def raise_issues(issues: List[ConfigIssue], title: str) -> None:
    """Raise one ConfigError listing every issue, if there are any."""
    if issues:
        lines = "\n".join(f"  {issue.message}" for issue in issues)
        raise ConfigError(f"{title}:\n{lines}", issues)


# ---------------------------------------------------------------- direct calls


def checked(func: Callable) -> Callable:
    """Check the declared ranges of `func`'s arguments on every call, naming the argument,
    so that a model built in Python is refused as its config would be."""
    hints = {k: v for k, v in typing.get_type_hints(func, include_extras=True).items() if has_range(v) and k != "return"}
    sig = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        for key, value in bound.arguments.items():
            if key in hints:
                problem = value_problem(value, hints[key], strict=False)
                if problem:
                    issue = ConfigIssue(func.__name__, key, f"{func.__name__}: {key} = {value!r}: {problem}.", "value")
                    raise ConfigError(issue.message, [issue])
        return func(*args, **kwargs)

    return wrapper
