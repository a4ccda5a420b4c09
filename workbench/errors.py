"""Error classes. Every message says what went wrong, where, and what to do."""


class WorkbenchError(Exception):
    """Base class of the workbench's errors."""


class ConfigError(WorkbenchError, ValueError):
    """A config is malformed, names an unknown function or misses values."""


class DataError(WorkbenchError, ValueError):
    """A corpus or vectors file has a malformed line. Messages name file and line."""


class ExtensionError(WorkbenchError, AttributeError):
    """An extension attribute (doc._.name) is misused."""


class ListenerError(WorkbenchError, RuntimeError):
    """A listener layer has nothing to read: its upstream did not run on this batch."""


class ShapeError(WorkbenchError, ValueError):
    """Arrays with the wrong shape reached a layer."""
