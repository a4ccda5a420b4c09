"""Initialization before training: vectors, labels and shapes, pretrained weights, the optimizer."""
from typing import Any, Callable, Dict, Iterable

from thinc.api import Optimizer

from ..config import resolve_block
from .lr_multipliers import apply_learn_rate_multipliers


def initialize_pipeline(nlp: Any, resolved: Dict[str, Any], get_examples: Callable[[], Iterable[Any]]) -> Optimizer:
    """Apply [initialize], initialize every component, and build the optimizer.

    Order matters: vectors first (StaticVectors reads their width), then
    `nlp.initialize`, and only then `init_tok2vec`, so that initializing cannot
    overwrite the pretrained weights. The loaded layers are printed. The optimizer
    applies [training] learn_rate_multipliers (see lr_multipliers.py).
    """
    init = resolved.get("initialize", {})
    if init.get("vectors"):
        from ..vectors.formats import load_vectors_into

        load_vectors_into(nlp, init["vectors"])  # before initialize: StaticVectors reads their width
    nlp.initialize(get_examples)
    if init.get("init_tok2vec"):
        from ..pretraining.init_tok2vec import load_pretrained

        pretraining = resolved.get("pretraining") or {}
        report = load_pretrained(nlp, init["init_tok2vec"], pretraining.get("component"), pretraining.get("layer"))
        print(report.format(), flush=True)
    optimizer = resolve_block(resolved["training"]["optimizer"], "training.optimizer")
    return apply_learn_rate_multipliers(optimizer, nlp, resolved["training"].get("learn_rate_multipliers"))
