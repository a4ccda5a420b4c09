"""Error classes. Every message says what went wrong, where, and what to do."""
from dataclasses import dataclass
from typing import Iterable, List


class WorkbenchError(Exception):
    """Base class of the workbench's errors."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config: where (section path, key), what, and its kind
    ("unknown_key", "type", "range", ...)."""

    section: str
    key: str
    message: str
    kind: str


class ConfigError(WorkbenchError, ValueError):
    """A config is malformed, names an unknown function or misses values.
    `issues` lists the problems one by one when the check that raised knows them."""

    def __init__(self, message: str = "", issues: Iterable[ConfigIssue] = ()):
        super().__init__(message)
        self.issues: List[ConfigIssue] = list(issues)


class DataError(WorkbenchError, ValueError):
    """A corpus or vectors file has a malformed line. Messages name file and line."""


class ExtensionError(WorkbenchError, AttributeError):
    """An extension attribute (doc._.name) is misused."""


class ListenerError(WorkbenchError, RuntimeError):
    """A listener layer has nothing to read: its upstream did not run on this batch."""


class ShapeError(WorkbenchError, ValueError):
    """Arrays with the wrong shape reached a layer."""
