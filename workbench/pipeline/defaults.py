"""The factories' default config blocks, one `.cfg` file each in `default_configs/`.

The same files serve the factories (`add_pipe` without settings) and `init config`.
"""
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

from confection import Config

FOLDER = Path(__file__).with_name("default_configs")


def read_default(factory: str) -> str:
    """The text of `default_configs/FACTORY.cfg`: a `[model]` block and any other settings."""
    return (FOLDER / f"{factory}.cfg").read_text(encoding="utf8")


@lru_cache(maxsize=None)
def _parsed(factory: str) -> Config:
    return Config().from_str(read_default(factory), interpolate=False)


def default_model(factory: str) -> Dict[str, Any]:
    """A fresh copy of the factory's default `[model]` block as a dict."""
    return default_block(factory, "model")


def default_block(factory: str, section: str) -> Dict[str, Any]:
    """A fresh copy of another block of the file (e.g. the `[training]` of a preset), {} if none."""
    return Config(_parsed(factory)).copy().get(section, {})
