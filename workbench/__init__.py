"""The transfer-learning workbench: shared embeddings, transformers, vectors and
pretraining for NLP pipelines, driven by config files."""
from confection import Config

from . import registrations  # noqa: F401  (fills the registries)
from .ops import use_blas_cpu_ops
from .pipeline.language import Pipeline, blank, load
from .registry import registry
from .text.doc import Doc, Span, Token
from .text.vocab import Vocab
from .training.example import Example

__version__ = "0.1.0"

use_blas_cpu_ops()

__all__ = ["Config", "Doc", "Example", "Pipeline", "Span", "Token", "Vocab", "blank", "load", "registry"]
