"""Tests for golden.quant: BitNet b1.58 quantizers, dequantization, BitLinear.

Float32 references are computed in float64 and rounded once to float32: for
one +, -, * or / of float32 operands that gives the correctly rounded float32
result, so the references are exact without reusing the code under test.
"""

import numpy as np
import pytest

from golden import EPS, bitlinear, dequantize, int_gemm, quantize_activations, quantize_weights

SEED = 0xB158

f32 = np.float32


@pytest.fixture
def rng():
    print(f"numpy seed: {SEED:#x}")
    return np.random.default_rng(SEED)


def f32_op(result64):
    """Round a float64 result of one operation on float32 operands to float32."""
    return np.asarray(result64, dtype=np.float64).astype(np.float32)


# --- quantize_weights ---------------------------------------------------------------------------


def test_weights_hand_example():
    # mean |W| = (0.25 + 1 + 0.0625 + 0.5) / 4 = 0.453125 (exact in float32)
    # W / gamma = 0.55, -2.21, 0.14, 1.10  ->  1, -1, 0, 1
    wq, gamma = quantize_weights(np.array([[0.25, -1.0], [0.0625, 0.5]], dtype=np.float32))
    assert type(gamma) is np.float32
    assert gamma == f32(0.453125)
    assert wq.dtype == np.int8
    assert wq.tolist() == [[1, -1], [0, 1]]


def test_weights_round_half_to_even():
    # gamma = 1 exactly, so W / gamma is exactly 0.5, -0.5, 1.5, -1.5, 0.5 ...
    wq, gamma = quantize_weights([0.5, -0.5, 1.5, -1.5, 0.5, -0.5, 1.5, -1.5])
    assert gamma == 1.0
    # 0.5 -> 0 (half away from zero would give 1); 1.5 -> 2 -> clipped to 1
    assert wq.tolist() == [0, 0, 1, -1, 0, 0, 1, -1]


def test_weights_integer_input():
    # mean |W| = 3; 2/3 -> 1, -4/3 -> -1, 0 -> 0, 6/3 = 2 -> 1
    wq, gamma = quantize_weights(np.array([[2, -4], [0, 6]]))
    assert gamma == 3.0
    assert wq.tolist() == [[1, -1], [0, 1]]


def test_weights_zero_and_tiny():
    wq, gamma = quantize_weights(np.zeros((3, 4), dtype=np.float32))
    assert gamma == EPS == f32(1e-5)
    assert wq.shape == (3, 4) and not wq.any()
    # mean |W| = 2.75e-6 < 1e-5, so gamma = 1e-5: W / gamma = 0.1, -0.4, 0.6, 0
    wq, gamma = quantize_weights(np.array([1e-6, -4e-6, 6e-6, 0.0], dtype=np.float32))
    assert gamma == EPS
    assert wq.tolist() == [0, 0, 1, 0]


@pytest.mark.parametrize("shape", [(1,), (7,), (5, 3), (64, 96), (2, 3, 4)])
def test_weights_match_float64_reference(rng, shape):
    w = (rng.standard_normal(shape) * rng.uniform(0.01, 3)).astype(np.float32)
    wq, gamma = quantize_weights(w)
    assert wq.shape == shape and wq.dtype == np.int8
    assert gamma == pytest.approx(np.abs(w.astype(np.float64)).mean(), rel=1e-6)
    ratio = f32_op(w.astype(np.float64) / np.float64(gamma))
    expected = np.clip(np.rint(ratio), -1, 1)
    np.testing.assert_array_equal(wq, expected)
    assert set(np.unique(wq)) <= {-1, 0, 1}


@pytest.mark.parametrize(
    "w, error, message",
    [
        (np.zeros((2, 2), complex), TypeError,
         r"^weights must be a real numeric array, got complex128$"),
        (np.ones(3, bool), TypeError, r"^weights must be a real numeric array, got bool$"),
        (np.zeros((0, 4)), ValueError, r"^weights must not be empty, got shape \(0, 4\)$"),
        (np.array([[1.0, np.nan]]), ValueError,
         r"^weights must be finite in float32; found nan at \[0, 1\]$"),
        (np.array([1.0, 1e39]), ValueError,
         r"^weights must be finite in float32; found inf at \[1\]$"),
        (np.full(4, 3e38, np.float32), ValueError, r"^mean \|weights\| overflows float32$"),
    ],
)
def test_weights_errors(w, error, message):
    with pytest.raises(error, match=message):
        quantize_weights(w)


# --- quantize_activations -----------------------------------------------------------------------


def test_activations_round_half_to_even():
    xq, scale = quantize_activations([127.0, 2.5, 3.5, -2.5, -0.5])
    assert scale.dtype == np.float32 and scale.tolist() == [1.0]
    assert xq.dtype == np.int8
    assert xq.tolist() == [127, 2, 4, -2, 0]  # half away from zero: 3, 4, -3, -1


def test_activations_hand_example_per_row():
    x = np.array([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0], [-4.0, 1.0, 3.0]], dtype=np.float32)
    xq, scale = quantize_activations(x)
    # row 0: s = 127/2 = 63.5: 63.5 -> 64 (even), -127, 31.75 -> 32
    # row 1: all zero, s = 127 / 1e-5
    # row 2: s = 127/4 = 31.75: -127, 31.75 -> 32, 95.25 -> 95
    assert xq.tolist() == [[64, -127, 32], [0, 0, 0], [-127, 32, 95]]
    assert scale.shape == (3, 1)
    assert scale[:, 0].tolist() == [63.5, f32(127) / f32(1e-5), 31.75]


def test_activations_product_is_rounded_to_float32_before_rint():
    x = np.array([5.0, 0.0984252], dtype=np.float32)
    xq, scale = quantize_activations(x)
    assert scale[0] == f32(25.4)
    # exact x * s = 2.50000009..., which rint would take to 3; the float32 product is 2.5 -> 2
    assert float(x[1]) * float(scale[0]) > 2.5
    assert x[1] * scale[0] == 2.5
    assert xq.tolist() == [127, 2]


def test_activations_below_eps():
    # absmax 3e-6 < 1e-5, so s = 1.27e7: 12.7 -> 13, -38.1 -> -38
    xq, scale = quantize_activations(np.array([1e-6, -3e-6], dtype=np.float32))
    assert scale[0] == f32(127) / f32(1e-5)
    assert xq.tolist() == [13, -38]


def test_activations_extremes():
    big = np.finfo(np.float32).max
    xq, scale = quantize_activations(np.array([[big, -big, 1.0], [-1.0, 0.5, 0.25]], np.float32))
    assert xq.tolist() == [[127, -127, 0], [-127, 64, 32]]
    assert np.isfinite(scale).all()


@pytest.mark.parametrize("shape", [(9,), (4, 16), (3, 5, 7), (0, 6)])
def test_activations_match_float64_reference(rng, shape):
    x = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-6, 3)).astype(np.float32)
    xq, scale = quantize_activations(x)
    assert xq.shape == shape and xq.dtype == np.int8
    assert scale.shape == shape[:-1] + (1,) and scale.dtype == np.float32
    x64 = x.astype(np.float64)
    absmax = np.abs(x64).max(axis=-1, keepdims=True, initial=0.0)
    expected_scale = f32_op(127.0 / np.maximum(absmax, np.float64(EPS)))
    np.testing.assert_array_equal(scale, expected_scale)
    expected = np.clip(np.rint(f32_op(x64 * expected_scale.astype(np.float64))), -128, 127)
    np.testing.assert_array_equal(xq, expected)
    if xq.size:
        # the largest magnitude of every row maps to +-127; -128 never appears
        assert (np.abs(xq).max(axis=-1) == 127).all()
        assert xq.min() >= -127


def test_activations_leading_axes_are_independent_rows(rng):
    x = rng.standard_normal((2, 3, 8)).astype(np.float32)
    xq, scale = quantize_activations(x)
    for index in np.ndindex(2, 3):
        row_q, row_s = quantize_activations(x[index])
        np.testing.assert_array_equal(xq[index], row_q)
        np.testing.assert_array_equal(scale[index], row_s)


@pytest.mark.parametrize(
    "x, error, message",
    [
        (np.array(1.0), ValueError,
         r"^activations must have at least 1 dimension \[\.\.\., K\], got shape \(\)$"),
        (np.zeros((3, 0)), ValueError,
         r"^activations must have K >= 1 along the last axis, got shape \(3, 0\)$"),
        (np.array([[0.0, 1.0, np.inf]]), ValueError,
         r"^activations must be finite in float32; found inf at \[0, 2\]$"),
        (np.array([1.0, -1e39]), ValueError,
         r"^activations must be finite in float32; found -inf at \[1\]$"),
        (np.array([True, False]), TypeError,
         r"^activations must be a real numeric array, got bool$"),
        (np.array(["a"]), TypeError, r"^activations must be a real numeric array, got <U1$"),
    ],
)
def test_activations_errors(x, error, message):
    with pytest.raises(error, match=message):
        quantize_activations(x)


# --- dequantize ---------------------------------------------------------------------------------


def test_dequantize_hand_example():
    out = dequantize(np.array([[254, -127, 0]], np.int32), np.array([[63.5]], np.float32), 0.5)
    assert out.dtype == np.float32
    assert out.tolist() == [[2.0, -1.0, 0.0]]


def test_dequantize_order_of_operations():
    s = f32(127) / f32(3.7)
    gamma = f32(0.3)
    out = dequantize(np.array([1]), np.array([s]), gamma)
    contract = f32_op(np.float64(f32_op(1.0 / np.float64(s))) * np.float64(gamma))
    assert out[0] == contract == f32(0.008740157)
    # The other groupings round differently, so the order is observable.
    assert out[0] != f32(1) / (s / gamma)
    assert out[0] != f32(1) * (gamma / s)


def test_dequantize_matches_float64_reference(rng):
    y = rng.integers(-(2**20), 2**20, size=(4, 3, 6), dtype=np.int32)
    scale = rng.uniform(0.1, 1e4, size=(4, 3, 1)).astype(np.float32)
    gamma = f32(rng.uniform(1e-3, 1))
    out = dequantize(y, scale, gamma)
    divided = f32_op(y.astype(np.float64) / scale.astype(np.float64))
    expected = f32_op(divided.astype(np.float64) * np.float64(gamma))
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    "y, scale, gamma, error, message",
    [
        (np.zeros(3, np.float32), np.ones(1), 1.0, TypeError,
         r"^y_int must be an integer array, got float32$"),
        (np.array(3), np.ones(1), 1.0, ValueError,
         r"^y_int must have at least 1 dimension \[\.\.\., N\], got shape \(\)$"),
        (np.zeros((2, 5), np.int32), np.ones((2, 5)), 1.0, ValueError,
         r"^scale must have shape \(2, 1\) to match y_int of shape \(2, 5\), got \(2, 5\)$"),
        (np.zeros((2, 5), np.int32), np.array([[1.0], [0.0]]), 1.0, ValueError,
         r"^scale must be positive and finite in float32; found 0\.0 at \[1, 0\]$"),
        (np.zeros((1, 5), np.int32), np.ones((1, 1), bool), 1.0, TypeError,
         r"^scale must be a real numeric array, got bool$"),
        (np.zeros(2, np.int32), np.ones(1), -1.0, ValueError,
         r"^gamma must be positive and finite in float32, not -1\.0$"),
        (np.zeros(2, np.int32), np.ones(1), 1e39, ValueError,
         r"^gamma must be positive and finite in float32, not inf$"),
        (np.zeros(2, np.int32), np.ones(1), "1", TypeError,
         r"^gamma must be a real scalar, not str$"),
        (np.zeros(2, np.int32), np.ones(1), np.ones(2), TypeError,
         r"^gamma must be a real scalar, not an array of shape \(2,\)$"),
    ],
)
def test_dequantize_errors(y, scale, gamma, error, message):
    with pytest.raises(error, match=message):
        dequantize(y, scale, gamma)


# --- bitlinear ----------------------------------------------------------------------------------


def test_bitlinear_exact_integer_example():
    # Rows whose absmax is 127 have s = 1, so xq == x and the output is (x @ wq.T) * gamma.
    x = np.array([[127, -3, 5, 0], [1, 2, -127, 64]], dtype=np.float32)
    wq = np.array([[1, 0, -1, 1], [-1, -1, 1, 0], [0, 0, 0, 0]], dtype=np.int8)
    out = bitlinear(x, wq, 0.5)
    assert out.dtype == np.float32
    assert out.tolist() == [[61.0, -59.5, 0.0], [96.0, -65.0, 0.0]]


def test_bitlinear_matches_float64_reference(rng):
    x = rng.standard_normal((5, 24)).astype(np.float32)
    wq, gamma = quantize_weights(rng.standard_normal((7, 24)))
    out = bitlinear(x, wq, gamma)
    x64 = x.astype(np.float64)
    s = f32_op(127.0 / np.maximum(np.abs(x64).max(axis=-1, keepdims=True), 1e-5))
    xq = np.clip(np.rint(f32_op(x64 * s)), -128, 127).astype(np.int64)
    y = np.einsum("mk,nk->mn", xq, wq.astype(np.int64))
    expected = f32_op(f32_op(y / s.astype(np.float64)).astype(np.float64) * np.float64(gamma))
    np.testing.assert_array_equal(out, expected)
    # and it approximates the float layer
    w_approx = wq.astype(np.float64) * gamma
    np.testing.assert_allclose(out, x64 @ w_approx.T, atol=0.05 * np.abs(out).max())


def test_bitlinear_leading_axes(rng):
    x = rng.standard_normal((2, 3, 8)).astype(np.float32)
    wq = rng.integers(-1, 2, size=(5, 8), dtype=np.int8)
    out = bitlinear(x, wq, 0.25)
    assert out.shape == (2, 3, 5)
    np.testing.assert_array_equal(out.reshape(6, 5), bitlinear(x.reshape(6, 8), wq, 0.25))
    np.testing.assert_array_equal(bitlinear(x[1, 2], wq, 0.25), out[1, 2])


def test_bitlinear_uses_the_given_gemm(rng):
    calls = []

    def recording_gemm(xq, wq):
        calls.append((xq.dtype, xq.shape, wq.dtype, wq.shape))
        return int_gemm(xq, wq).astype(np.int64)

    x = rng.standard_normal((2, 3, 8)).astype(np.float32)
    wq = rng.integers(-1, 2, size=(5, 8)).astype(np.int64)
    out = bitlinear(x, wq, 0.5, gemm=recording_gemm)
    assert calls == [(np.int8, (6, 8), np.int8, (5, 8))]
    np.testing.assert_array_equal(out, bitlinear(x, wq, 0.5))


@pytest.mark.parametrize(
    "x, wq, kwargs, error, message",
    [
        (np.ones((2, 4)), np.ones(4, np.int8), {}, ValueError,
         r"^weights must be a 2-D array \[N, K\], got shape \(4,\)$"),
        (np.ones((2, 2)), np.array([[0, 2]]), {}, ValueError,
         r"^weights must be ternary \(-1, 0, \+1\); found 2 at \[0, 1\]$"),
        (np.ones((2, 5)), np.ones((3, 4), np.int8), {}, ValueError,
         r"^K mismatch: activations have K=5 but weights have K=4$"),
        (np.ones((2, 4)), np.ones((3, 4), np.float32), {}, TypeError,
         r"^weights must be an integer array, got float32$"),
        (np.ones((2, 4)), np.ones((3, 4), np.int8), {"gemm": 3}, TypeError,
         r"^gemm must be callable, not int$"),
        (np.ones((4, 4)), np.ones((3, 4), np.int8), {"gemm": lambda a, b: np.zeros((2, 3), np.int32)},
         ValueError, r"^gemm returned shape \(2, 3\); expected \(4, 3\)$"),
        (np.ones((4, 4)), np.ones((3, 4), np.int8), {"gemm": lambda a, b: np.zeros((4, 3))},
         TypeError, r"^gemm must return an integer array, got float64$"),
    ],
)
def test_bitlinear_errors(x, wq, kwargs, error, message):
    with pytest.raises(error, match=message):
        bitlinear(x, wq, 1.0, **kwargs)
