"""Products in bfloat16 for the transition models' inference (`mixed_precision = true`).

`matmul(A, B, out=None, bf16=False)` is `A @ B` in float32, or, with `bf16` on a CPU
with native bfloat16 dot products, torch's product of bfloat16 copies of A and B
(float32 accumulation), rounded back into a float32 result: about twice the float32
throughput for the (tokens, width) x (width, slots * hidden * pieces) projection.
Elsewhere, or without `bf16`, it is numpy's float32 product. Training never uses it.
"""
from functools import lru_cache
from typing import Optional

import numpy as np


@lru_cache(maxsize=1)
def bf16_native() -> bool:
    """Whether this CPU runs bfloat16 products natively (otherwise they are emulated, slower)."""
    import torch

    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def matmul(A: np.ndarray, B: np.ndarray, out: Optional[np.ndarray] = None, bf16: bool = False) -> np.ndarray:
    """(n, k) @ (k, m) -> (n, m) float32, in bfloat16 where asked for and native."""
    if not (bf16 and bf16_native()):
        return np.matmul(A, B, out=out)
    import torch

    product = torch.mm(torch.from_numpy(np.ascontiguousarray(A)).bfloat16(),
                       torch.from_numpy(np.ascontiguousarray(B)).bfloat16())
    if out is None:
        out = np.empty((A.shape[0], B.shape[1]), dtype=np.float32)
    torch.from_numpy(out).copy_(product)
    return out
