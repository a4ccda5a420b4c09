"""A model's weights as bytes (`model.msgpack`), with zero-initialised tables kept sparse.

`model_to_bytes(model)` is thinc's `model.to_bytes()` except for the params a node
names in its attrs under `SPARSE_ROWS`: those are stored as their nonzero rows only,
`{"sparse_rows": shape, "rows": (k,) int32, "values": (k, ...)}`. A hashed table
that starts at zeros (the textcat's bag of words) is mostly rows no training
n-gram reached, and an optimizer never moves a row whose gradient is always zero,
so those rows are rebuilt exactly as zeros. `model_from_bytes` reads both forms
(a file written by `model.to_bytes()` loads unchanged).
"""
from functools import partial

import numpy as np
import srsly
from thinc.api import Model
from thinc.util import convert_recursive, is_xp_array

SPARSE_ROWS = "sparse_rows"  # node attr: the names of params stored as their nonzero rows


def pack_rows(table: np.ndarray) -> dict:
    """(n_rows, ...) table -> its nonzero rows and their indices."""
    flat = table.reshape((table.shape[0], -1))
    rows = np.flatnonzero(np.any(flat != 0, axis=1)).astype(np.int32)
    return {SPARSE_ROWS: list(table.shape), "rows": rows, "values": np.ascontiguousarray(table[rows])}


def unpack_rows(packed: dict) -> np.ndarray:
    values = np.asarray(packed["values"])
    table = np.zeros(tuple(packed[SPARSE_ROWS]), dtype=values.dtype)
    table[np.asarray(packed["rows"], dtype=np.int64)] = values
    return table


def model_to_bytes(model: Model) -> bytes:
    msg = model.to_dict()
    to_numpy_le = partial(model.ops.to_numpy, byte_order="<")
    for node, params in zip(model.walk(), msg["params"]):
        for name in node.attrs.get(SPARSE_ROWS, ()):
            if params.get(name) is not None:
                params[name] = pack_rows(model.ops.to_numpy(params[name]))
    return srsly.msgpack_dumps(convert_recursive(is_xp_array, to_numpy_le, msg))


def model_from_bytes(model: Model, data: bytes) -> Model:
    msg = srsly.msgpack_loads(data)
    for params in msg.get("params", []):
        for name, value in params.items():
            if isinstance(value, dict) and SPARSE_ROWS in value:
                params[name] = unpack_rows(value)
    return model.from_dict(convert_recursive(is_xp_array, model.ops.asarray, msg))
