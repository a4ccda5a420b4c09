"""CPU ops: thinc's NumpyOps with matrix products done by numpy's BLAS.

thinc's NumpyOps.gemm runs on blis, which measured about 6x slower here than
numpy's OpenBLAS (32 vs 190 GFLOP/s). Every Linear/Softmax/Maxout layer goes
through gemm, so the workbench makes this the current ops on the CPU.
"""
from thinc.api import NumpyOps, Ops, get_current_ops, set_current_ops


class BlasNumpyOps(NumpyOps):
    name = "blas_numpy"
    gemm = Ops.gemm  # xp.dot, i.e. numpy's BLAS


def use_blas_cpu_ops() -> None:
    """Switch the current thread's plain NumpyOps (never GPU ops) to BlasNumpyOps."""
    if type(get_current_ops()) is NumpyOps:
        set_current_ops(BlasNumpyOps())
