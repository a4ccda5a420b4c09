"""Error classes. Every message says what went wrong, where, and what to do."""
from dataclasses import dataclass
from typing import Iterable, List, Optional


class WorkbenchError(Exception):
    """Base class of the workbench's errors."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem of a config, as data for tools that show it beside its key.

    section: dotted section path ("components.tagger.model"), "" for the config as a whole;
    key: the setting concerned, None when the section is; message: plain words;
    kind: "syntax", "missing", "unknown", "type", "value", "reference" or "invalid";
    line: the 1-based line of the config text, when known.
    """

    section: str
    key: Optional[str]
    message: str
    kind: str = "invalid"
    line: Optional[int] = None

    @property
    def where(self) -> str:
        if not self.section:
            return "the config"
        return f"[{self.section}] {self.key}" if self.key else f"[{self.section}]"


class ConfigError(WorkbenchError, ValueError):
    """A config is malformed, names an unknown function or misses values.

    `issues` lists the problems one by one (section, key, message, kind) where the
    check that raised knows them; checks append to it rather than parse the message.
    """

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
