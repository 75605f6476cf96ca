"""Tests for golden.gemm (exact int8 x ternary GEMM) and golden.checks."""

import numpy as np
import pytest

from golden import MAX_K, check_int8, check_ternary, gemm_bound, int_gemm

SEED = 0x6E44


@pytest.fixture
def rng():
    print(f"numpy seed: {SEED:#x}")
    return np.random.default_rng(SEED)


def brute_force_gemm(xq, wq):
    """Y[m][n] = sum_k xq[m][k] * wq[n][k] with Python ints (no NumPy arithmetic)."""
    m_rows, k_len = len(xq), len(xq[0]) if len(xq) else 0
    return [
        [sum(int(xq[m][k]) * int(wq[n][k]) for k in range(k_len)) for n in range(len(wq))]
        for m in range(m_rows)
    ]


@pytest.mark.parametrize("m", [1, 2, 5])
@pytest.mark.parametrize("n", [1, 3, 4])
@pytest.mark.parametrize("k", [1, 7, 16])
def test_matches_brute_force(rng, m, n, k):
    xq = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    wq = rng.integers(-1, 2, size=(n, k), dtype=np.int8)
    y = int_gemm(xq, wq)
    assert y.dtype == np.int32
    assert y.shape == (m, n)
    assert y.tolist() == brute_force_gemm(xq.tolist(), wq.tolist())


def test_hand_example():
    xq = np.array([[1, 2, 3], [-128, 127, 0]], dtype=np.int8)
    wq = np.array([[1, 0, -1], [-1, -1, -1], [0, 0, 0], [-1, 1, 1]], dtype=np.int8)
    expected = [[1 - 3, -6, 0, -1 + 2 + 3], [-128, 1, 0, 128 + 127]]
    assert int_gemm(xq, wq).tolist() == expected


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64])
def test_any_integer_dtype(rng, dtype):
    xq = rng.integers(-128, 128, size=(3, 9)).astype(dtype)
    wq = rng.integers(-1, 2, size=(4, 9)).astype(dtype)
    assert int_gemm(xq, wq).tolist() == brute_force_gemm(xq.tolist(), wq.tolist())


def test_unsigned_dtypes_and_lists():
    xq = np.array([[0, 127, 3]], dtype=np.uint8)
    wq = [[1, 1, 0], [0, -1, 1]]
    assert int_gemm(xq, wq).tolist() == [[127, -124]]


@pytest.mark.parametrize(
    "x_value, w_value, sign", [(-128, -1, +1), (-128, 1, -1), (127, 1, +1), (127, -1, -1)]
)
def test_extremes(x_value, w_value, sign):
    k = 4096
    xq = np.full((2, k), x_value, dtype=np.int8)
    wq = np.full((3, k), w_value, dtype=np.int8)
    y = int_gemm(xq, wq)
    assert (y == sign * abs(x_value) * k).all()
    assert np.abs(y).max() <= gemm_bound(k)


def test_bound_is_reached_and_fits_int32():
    assert gemm_bound(5) == 640
    assert int_gemm(np.full((1, 5), -128), np.full((1, 5), -1)).item() == gemm_bound(5)
    assert gemm_bound(MAX_K) <= 2**31 - 1 < gemm_bound(MAX_K + 1)


def test_k_too_large_is_rejected_before_reading_values():
    # Zero-stride views: no memory is allocated for the 2**24 columns.
    xq = np.broadcast_to(np.int8(0), (1, MAX_K + 1))
    wq = np.broadcast_to(np.int8(0), (1, MAX_K + 1))
    with pytest.raises(
        ValueError, match=r"^K=16777216 is too large; int32 results are exact only for K <= 16777215$"
    ):
        int_gemm(xq, wq)


@pytest.mark.parametrize("m, n, k", [(0, 3, 4), (2, 0, 4), (2, 3, 0)])
def test_zero_sizes(m, n, k):
    y = int_gemm(np.zeros((m, k), dtype=np.int8), np.zeros((n, k), dtype=np.int8))
    assert y.shape == (m, n)
    assert y.dtype == np.int32
    assert not y.any()


@pytest.mark.parametrize(
    "xq, wq, message",
    [
        (np.zeros(3, np.int8), np.zeros((2, 3), np.int8),
         r"^activations must be a 2-D array \[M, K\], got shape \(3,\)$"),
        (np.zeros((2, 3), np.int8), np.zeros((2, 2, 3), np.int8),
         r"^weights must be a 2-D array \[N, K\], got shape \(2, 2, 3\)$"),
        (np.zeros((2, 5), np.int8), np.zeros((3, 4), np.int8),
         r"^K mismatch: activations have K=5 but weights have K=4$"),
        (np.array([[0, 200], [0, 0]], np.int16), np.zeros((1, 2), np.int8),
         r"^activations must be int8 \(-128\.\.127\); found 200 at \[0, 1\]$"),
        (np.array([[0, 0], [0, -129]]), np.zeros((1, 2), np.int8),
         r"^activations must be int8 \(-128\.\.127\); found -129 at \[1, 1\]$"),
        (np.zeros((1, 2), np.int8), np.array([[0, 2], [3, 0]]),
         r"^weights must be ternary \(-1, 0, \+1\); found 2 at \[0, 1\]$"),
        # abs(int8 -128) wraps to -128; the check must not be fooled by it.
        (np.zeros((1, 2), np.int8), np.array([[0, 0], [-128, 0]], np.int8),
         r"^weights must be ternary \(-1, 0, \+1\); found -128 at \[1, 0\]$"),
    ],
)
def test_value_errors(xq, wq, message):
    with pytest.raises(ValueError, match=message):
        int_gemm(xq, wq)


@pytest.mark.parametrize(
    "xq, wq, message",
    [
        (np.zeros((1, 2), np.float32), np.zeros((1, 2), np.int8),
         r"^activations must be an integer array, got float32$"),
        (np.zeros((1, 2), np.int8), np.zeros((1, 2), bool),
         r"^weights must be an integer array, got bool$"),
        (np.zeros((1, 2), np.int8), [[1.0, 0.0]],
         r"^weights must be an integer array, got float64$"),
    ],
)
def test_type_errors(xq, wq, message):
    with pytest.raises(TypeError, match=message):
        int_gemm(xq, wq)


def test_checks_return_the_array_unchanged():
    x = np.array([[-128, 127]], dtype=np.int32)
    assert check_int8(x, "x") is x
    w = np.array([-1, 0, 1], dtype=np.int64)
    assert check_ternary(w, "w") is w
    assert check_ternary([[1, -1]], "w").tolist() == [[1, -1]]


def test_checks_name_the_first_offender_in_row_major_order():
    w = np.zeros((2, 3, 4), dtype=np.int64)
    w[1, 2, 3] = 5
    w[1, 0, 2] = -7
    with pytest.raises(ValueError, match=r"^w must be ternary \(-1, 0, \+1\); found -7 at \[1, 0, 2\]$"):
        check_ternary(w, "w")
    with pytest.raises(ValueError, match=r"^x must be int8 \(-128\.\.127\); found 300 at \[2\]$"):
        check_int8(np.array([0, 1, 300, 400]), "x")
    big = np.array([1, 2**64 - 1], dtype=np.uint64)
    with pytest.raises(ValueError, match=r"; found 18446744073709551615 at \[1\]$"):
        check_ternary(big, "w")
