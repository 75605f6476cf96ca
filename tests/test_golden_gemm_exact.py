"""The fast exact GEMM of golden.gemm (BLAS in float32 / float64) against the int64 product.

``int_gemm`` and ``int8_gemm`` compute in floating point where every partial sum is an
integer the float type holds exactly; these tests compare them, bit for bit, with NumPy's
int64 matrix product (the method they replaced) at the extremes, on both sides of the
float32 limit ``128 * K < 2**24`` (K = 131071 | 131072), across block boundaries, with every
integer dtype and memory layout, and check that a bad weight in any block is still reported
with the exact message of the first offender.
"""

import numpy as np
import pytest

from golden import int8_gemm, int_gemm

SEED = 0x2B4E
#: Largest K whose int_gemm sums stay in float32 (128 * K < 2**24).
FLOAT32_K = 2**17 - 1


def int64_product(xq, wq):
    """The reference: NumPy's int64 matrix product (exact), as golden computed it before."""
    return np.asarray(xq).astype(np.int64) @ np.asarray(wq).astype(np.int64).T


@pytest.fixture
def rng():
    print(f"numpy seed: {SEED:#x}")
    return np.random.default_rng(SEED)


@pytest.mark.parametrize("k", [FLOAT32_K, FLOAT32_K + 1])
@pytest.mark.parametrize("x_value, w_value", [(-128, -1), (-128, 1), (127, 1), (127, -1)])
def test_extremes_at_the_float32_limit(k, x_value, w_value):
    xq = np.full((2, k), x_value, np.int8)
    wq = np.full((3, k), w_value, np.int8)
    y = int_gemm(xq, wq)
    assert y.dtype == np.int32 and y.shape == (2, 3)
    assert (y == x_value * w_value * k).all()
    assert y[0, 0] == int64_product(xq, wq)[0, 0]


def test_a_sum_float32_cannot_hold_is_exact():
    # 2**17 products of +128 and one of +1: 2**24 + 1 has no float32, and every partial sum
    # that includes the +1 and passes 2**24 is odd, so only the float64 path gets it right.
    k = 2**17 + 1
    xq = np.full((1, k), -128, np.int8)
    wq = np.full((2, k), -1, np.int8)
    xq[0, -1], wq[0, -1], wq[1, -1] = 1, 1, 0
    assert int_gemm(xq, wq).tolist() == [[2**24 + 1, 2**24]]
    assert np.float32(2**24 + 1) == 2**24                       # what float32 would give


def test_largest_float32_sums_mixed_signs(rng):
    # Random values at K = 131071: partial sums reach about +-2**23 in any order.
    k = FLOAT32_K
    xq = np.where(rng.random((3, k)) < 0.9, -128, rng.integers(-128, 128, (3, k))).astype(np.int8)
    wq = np.where(rng.random((4, k)) < 0.9, -1, rng.integers(-1, 2, (4, k))).astype(np.int8)
    assert np.array_equal(int_gemm(xq, wq), int64_product(xq, wq))


@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (1, 6912, 2560), (8, 2560, 6912),
                                     (3, 1000, 131), (70, 37, 4097), (1, 5, 131072),
                                     (2, 3, 300000)])
def test_random_matches_int64(rng, m, n, k):
    xq = rng.integers(-128, 128, (m, k), dtype=np.int8)
    wq = rng.integers(-1, 2, (n, k), dtype=np.int8)
    y = int_gemm(xq, wq)
    assert y.dtype == np.int32 and y.flags.c_contiguous
    assert np.array_equal(y, int64_product(xq, wq))


@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.int64, np.uint64])
def test_dtypes_and_layouts(rng, dtype):
    xq = rng.integers(0 if np.dtype(dtype).kind == "u" else -128, 128, (9, 40)).astype(dtype)
    wq = rng.integers(0 if np.dtype(dtype).kind == "u" else -1, 2, (40, 33)).astype(dtype)
    for x, w in [(xq, wq.T), (np.asfortranarray(xq), np.ascontiguousarray(wq.T)),
                 (xq[::2, ::3], wq.T[::3, ::3]), (xq, np.broadcast_to(wq.T[:1], (33, 40)))]:
        assert np.array_equal(int_gemm(x, w), int64_product(x, w))


def test_seeded_property_sweep(rng):
    """Random shapes, values biased to the extremes, many rounds."""
    for _ in range(200):
        m, n, k = (int(v) for v in rng.integers(1, 40, 3))
        k *= int(rng.choice([1, 7, 97]))
        xq = rng.choice(np.array([-128, -127, -1, 0, 1, 126, 127], np.int8), (m, k))
        wq = rng.integers(-1, 2, (n, k), dtype=np.int8)
        assert np.array_equal(int_gemm(xq, wq), int64_product(xq, wq)), (m, n, k)


@pytest.mark.parametrize("row", [0, 100, 2999])
def test_bad_weight_in_any_block_names_the_first_offender(row):
    # 3000 rows of K = 256 span several blocks; the offender sits in the first, a middle
    # or the last one, with a second offender after it that must not be the one reported.
    wq = np.zeros((3000, 256), np.int64)
    wq[row, 7] = -2
    wq[-1, -1] = 5
    with pytest.raises(ValueError, match=rf"^weights must be ternary \(-1, 0, \+1\); "
                                         rf"found -2 at \[{row}, 7\]$"):
        int_gemm(np.ones((1, 256), np.int8), wq)


def test_activation_errors_come_before_weight_errors():
    with pytest.raises(ValueError, match=r"^activations must be int8 \(-128\.\.127\); "
                                         r"found 128 at \[0, 0\]$"):
        int_gemm(np.array([[128, 0]]), np.array([[2, 0]]))


@pytest.mark.parametrize("k", [1023, 1024, 5000])
def test_int8_gemm_extremes_and_random(rng, k):
    # 128 * 128 * K < 2**24 holds up to K = 1023; 1024 and beyond go through float64.
    xq = np.full((2, k), -128, np.int8)
    wq = np.full((3, k), -128, np.int8)
    y = int8_gemm(xq, wq)
    assert y.dtype == np.int64 and (y == 128 * 128 * k).all()
    xq = rng.integers(-128, 128, (4, k), dtype=np.int8)
    wq = rng.integers(-128, 128, (5, k), dtype=np.int8)
    assert np.array_equal(int8_gemm(xq, wq), int64_product(xq, wq))


def test_int8_gemm_zero_sizes():
    assert int8_gemm(np.zeros((2, 0), np.int8), np.zeros((3, 0), np.int8)).tolist() == [[0] * 3] * 2
    assert int8_gemm(np.zeros((0, 4), np.int8), np.zeros((3, 4), np.int8)).shape == (0, 3)
