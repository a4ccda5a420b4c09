"""BlasNumpyOps: numpy's BLAS for gemm, a fast float32 dropout mask with thinc's semantics."""
import numpy
from thinc.api import NumpyOps, fix_random_seed

from workbench.ops import BlasNumpyOps


def test_dropout_mask_keeps_thincs_values_and_rate():
    ops = BlasNumpyOps()
    mask = ops.get_dropout_mask((400, 300), 0.25)
    assert mask.shape == (400, 300) and mask.dtype == numpy.float32
    assert set(numpy.unique(mask).tolist()) == {0.0, numpy.float32(1 / 0.75)}
    assert abs((mask == 0).mean() - 0.25) < 0.01  # 120,000 draws
    assert abs(mask.mean() - 1.0) < 0.02  # expected value kept


def test_dropout_mask_follows_fix_random_seed():
    ops = BlasNumpyOps()
    fix_random_seed(3)
    first = ops.get_dropout_mask((50, 8), 0.5)
    fix_random_seed(3)
    assert numpy.array_equal(first, ops.get_dropout_mask((50, 8), 0.5))
    assert not numpy.array_equal(first, ops.get_dropout_mask((50, 8), 0.5))


def test_dropout_mask_edge_rates_as_thinc():
    ops, ref = BlasNumpyOps(), NumpyOps()
    for drop in (None, 0.0, 1.0):
        assert numpy.array_equal(ops.get_dropout_mask((3, 4), drop), ref.get_dropout_mask((3, 4), drop))


def test_gather_add_sums_rows_as_thinc():
    ops, ref = BlasNumpyOps(), NumpyOps()
    rng = numpy.random.default_rng(0)
    table = rng.random((500, 24), dtype=numpy.float32)
    for dtype in ("uint32", "int32", "int64"):
        idx = rng.integers(0, 500, (300, 7)).astype(dtype)
        out = ops.gather_add(table, idx)
        assert out.shape == (300, 24) and out.dtype == numpy.float32
        numpy.testing.assert_allclose(out, ref.gather_add(table, idx.astype("uint32")), rtol=1e-6)
        numpy.testing.assert_allclose(out[5], table[idx[5].astype("int64")].sum(axis=0), rtol=1e-5)
    empty = ops.gather_add(table, numpy.zeros((0, 4), dtype="uint32"))
    assert empty.shape == (0, 24)
