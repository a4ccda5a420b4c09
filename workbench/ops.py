"""CPU ops: thinc's NumpyOps with matrix products done by numpy's BLAS.

thinc's NumpyOps.gemm runs on blis, which measured about 6x slower here than
numpy's OpenBLAS (32 vs 190 GFLOP/s). Every Linear/Softmax/Maxout layer goes
through gemm, so the workbench makes this the current ops on the CPU.
"""
from typing import Optional

import numpy
from thinc.api import NumpyOps, Ops, get_current_ops, set_current_ops


class BlasNumpyOps(NumpyOps):
    name = "blas_numpy"
    gemm = Ops.gemm  # xp.dot, i.e. numpy's BLAS

    def get_dropout_mask(self, shape, drop: Optional[float]):
        """thinc's mask (0, or 1 / (1 - drop) with probability 1 - drop), drawn in float32
        by numpy's Generator: ~5x faster than the float64 legacy draw, which was 6% of a
        CNN training step. Seeded from numpy's global state, so `fix_random_seed` still
        makes it reproducible."""
        if drop is None or drop <= 0 or drop >= 1.0:
            return super().get_dropout_mask(shape, drop)
        rng = numpy.random.default_rng(numpy.random.randint(2**63, dtype=numpy.int64))
        mask = (rng.random(shape, dtype=numpy.float32) >= drop).astype(numpy.float32)
        mask *= numpy.float32(1.0 / (1.0 - drop))
        return mask


    def gather_add(self, table, indices):
        """(n_rows, width) table, (N, k) row indices -> (N, width): each row the sum of its
        k table rows (the hash embeddings' lookup). torch's embedding_bag sums them about
        2x faster than thinc's one saxpy call per row (measured at (11000, 288) and
        (33000, 16)), with the same values; other dtypes go to thinc's."""
        if (table.dtype != numpy.float32 or table.ndim != 2 or indices.ndim != 2
                or indices.dtype not in (numpy.uint32, numpy.int32, numpy.int64)):
            return super().gather_add(table, indices)
        if indices.size == 0:
            return self.alloc2f(indices.shape[0], table.shape[1])
        import torch

        if indices.dtype == numpy.uint32:  # torch indexes with int32 / int64; rows < 2**31
            indices = indices.view(numpy.int32)
        out = torch.nn.functional.embedding_bag(torch.from_numpy(indices), torch.from_numpy(table), mode="sum")
        return out.numpy()


def use_blas_cpu_ops() -> None:
    """Switch the current thread's plain NumpyOps (never GPU ops) to BlasNumpyOps."""
    if type(get_current_ops()) is NumpyOps:
        set_current_ops(BlasNumpyOps())


def on_gpu() -> bool:
    """Whether the current ops run on a GPU (after thinc's require_gpu / prefer_gpu)."""
    return get_current_ops().device_type == "gpu"


def use_gpu_allocator(allocator: Optional[str]) -> bool:
    """[training] gpu_allocator = "pytorch": on a GPU, cupy allocates from torch's memory
    pool, so the two share one pool instead of each holding memory back. On CPU it has
    no effect. Returns whether the allocator was set."""
    if not allocator or not on_gpu():
        return False
    from thinc.api import set_gpu_allocator

    set_gpu_allocator(allocator)
    return True
