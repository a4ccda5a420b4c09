"""Static word vectors: the key -> row table (`Vectors`) and the file formats it is read from."""
from .table import Vectors, VectorsWarning

__all__ = ["Vectors", "VectorsWarning"]
