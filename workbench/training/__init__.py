"""Training: Examples, the loop, batchers, events and the console logger."""
from .example import Example

__all__ = ["Example"]
