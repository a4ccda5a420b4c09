"""low_precision.matmul: float32 exactly by default, bfloat16 products where asked for and native."""
import numpy
import pytest

from workbench.models.low_precision import bf16_native, matmul

needs_bf16 = pytest.mark.skipif(not bf16_native(), reason="this CPU has no native bfloat16 products")


def operands(n=37, k=96, m=256):
    rng = numpy.random.default_rng(0)
    return rng.normal(size=(n, k)).astype("float32"), rng.normal(size=(k, m)).astype("float32")


def test_float32_by_default_is_numpy_exactly():
    A, B = operands()
    out = numpy.empty((A.shape[0], B.shape[1]), dtype="float32")
    assert matmul(A, B, out=out) is out
    assert numpy.array_equal(out, A @ B)
    assert numpy.array_equal(matmul(A, B), A @ B)


@needs_bf16
def test_bf16_rounds_like_bfloat16_and_writes_float32_into_out():
    A, B = operands()
    exact = A.astype("float64") @ B.astype("float64")
    out = numpy.full((A.shape[0], B.shape[1]), numpy.nan, dtype="float32")
    got = matmul(A, B, out=out, bf16=True)
    assert got is out and got.dtype == numpy.float32 and numpy.isfinite(got).all()
    err = numpy.abs(got - exact) / numpy.sqrt(A.shape[1])  # entries of A @ B have scale sqrt(k)
    assert 1e-4 < err.mean() < 1e-2 and err.max() < 5e-2  # bfloat16's ~3 digits, not float32's ~7
    assert not numpy.array_equal(got, A @ B)
    noncontiguous = matmul(A[:, ::2], B[::2], bf16=True)  # views are copied, not misread
    assert numpy.abs(noncontiguous - A[:, ::2] @ B[::2]).max() < 0.1
