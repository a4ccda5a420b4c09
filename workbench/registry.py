"""The registries that config files refer to with `@name = "..."` keys.

Every built-in function is registered in `workbench.registrations`; user code
passed with `--code` registers more with the same decorators, e.g.
`@registry.architectures("my.Layer.v1")`.
"""
import difflib
import functools
import inspect
from typing import Callable, Dict, Optional

import catalogue
import thinc.api

from .errors import ConfigError


class EntryPointGroups:
    """catalogue's snapshot of the installed entry points (taken when it is imported), each
    group looked up once: catalogue scans every entry point of every installed package on
    each registry lookup (~2 ms with torch and Ray installed; 40% of loading a saved
    pipeline). The snapshot is the same, so are the answers."""

    def __init__(self, points):
        self.points = points
        self.groups: Dict[tuple, object] = {}

    def select(self, **params):
        key = tuple(sorted(params.items()))
        if key not in self.groups:
            self.groups[key] = self.points.select(**params)
        return self.groups[key]

    def __getattr__(self, name):
        return getattr(self.points, name)


if hasattr(catalogue.AVAILABLE_ENTRY_POINTS, "select") and not isinstance(catalogue.AVAILABLE_ENTRY_POINTS, EntryPointGroups):
    catalogue.AVAILABLE_ENTRY_POINTS = EntryPointGroups(catalogue.AVAILABLE_ENTRY_POINTS)


class UnknownFunctionError(ConfigError):
    """A config names a function no registry holds (maybe registered by user code: --code)."""


class registry(thinc.api.registry):
    """thinc's registries (layers, optimizers, schedules, ...) plus ours."""

    architectures = catalogue.create("workbench", "architectures", entry_points=True)
    span_getters = catalogue.create("workbench", "span_getters", entry_points=True)
    annotation_setters = catalogue.create("workbench", "annotation_setters", entry_points=True)
    readers = catalogue.create("workbench", "readers", entry_points=True)
    callbacks = catalogue.create("workbench", "callbacks", entry_points=True)
    vectors = catalogue.create("workbench", "vectors", entry_points=True)
    factories = catalogue.create("workbench", "factories", entry_points=True)
    batchers = catalogue.create("workbench", "batchers", entry_points=True)

    @classmethod
    def get(cls, registry_name: str, func_name: str):
        """Look up a function, naming the registry and the closest names on a miss."""
        if not hasattr(cls, registry_name):
            known = ", ".join(registry_names())
            raise ConfigError(f"Unknown registry '@{registry_name}'. Known registries: {known}.")
        reg = getattr(cls, registry_name)
        try:
            return reg.get(func_name)
        except catalogue.RegistryError:
            names = sorted(reg.get_all())
            close = difflib.get_close_matches(func_name, names, n=5, cutoff=0.4)
            hint = f" Did you mean: {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownFunctionError(
                f"'{func_name}' is not registered in the '{registry_name}' registry.{hint} "
                f"If it is your own function, pass the file that registers it with --code."
            ) from None


def registry_names():
    return sorted(
        name
        for name in dir(registry)
        if isinstance(getattr(registry, name, None), catalogue.Registry)
    )



# factory name -> default config text for its block ([components.NAME] rooted at "")
FACTORY_DEFAULTS: Dict[str, str] = {}
# factory name -> (block -> {score name: relative weight}) for choosing model-best
FACTORY_SCORES: Dict[str, Callable[[dict], Dict[str, float]]] = {}


def register_factory(
    name: str,
    func: Callable,
    default_config: str = "",
    scores: Optional[Callable[[dict], Dict[str, float]]] = None,
) -> None:
    """Register `func(nlp, name, **settings) -> component` as a pipeline factory.

    The registry holds a twin of `func` whose signature lacks `nlp` and `name`, so
    that confection can fill and check the settings of `[components.NAME]`.
    """
    sig = inspect.signature(func)
    params = list(sig.parameters.values())[2:]

    @functools.wraps(func)
    def settings(**kwargs):
        raise TypeError("Build components with Pipeline.add_pipe, not from the registry.")

    del settings.__wrapped__
    settings.__signature__ = sig.replace(parameters=params)
    settings.__annotations__ = {
        k: v for k, v in getattr(func, "__annotations__", {}).items() if k not in ("nlp", "name")
    }
    settings.build = func
    registry.factories.register(name, func=settings)
    FACTORY_DEFAULTS[name] = default_config
    FACTORY_SCORES[name] = scores or (lambda block: {})


def get_factory(name: str) -> Callable:
    """The function that builds a component: `func(nlp, name, **settings)`."""
    return registry.get("factories", name).build
