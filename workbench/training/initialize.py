"""Initialization before training: labels, shapes and the optimizer."""
from typing import Any, Callable, Dict, Iterable

from thinc.api import Optimizer

from ..config import resolve_block
from ..errors import ConfigError


def initialize_pipeline(nlp: Any, resolved: Dict[str, Any], get_examples: Callable[[], Iterable[Any]]) -> Optimizer:
    """Apply [initialize], initialize every component, and build the optimizer."""
    init = resolved.get("initialize", {})
    if init.get("vectors"):
        from .vectors_io import load_vectors_into

        load_vectors_into(nlp, init["vectors"])  # before initialize: StaticVectors reads their width
    if init.get("init_tok2vec"):
        raise ConfigError(
            f"[initialize] init_tok2vec = {init['init_tok2vec']!r}: loading pretrained weights is not "
            f"available in this version. Set it to null."
        )
    nlp.initialize(get_examples)
    return resolve_block(resolved["training"]["optimizer"], "training.optimizer")
