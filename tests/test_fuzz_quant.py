"""Property tests (Hypothesis) of golden's quantizers against a brute-force reference.

The reference below follows ``docs/numerics.md`` one element at a time: every step a single
float32 operation on NumPy scalars, the mean a float32 pairwise sum written out here (NumPy's
documented ``add.reduce`` algorithm: plain below 8 elements, 8 interleaved accumulators up to
128, halves above), rounding by Python's ``round`` (half to even). Inputs cover every real
dtype, shapes with zero-sized leading axes, views in Fortran order (the sum runs in C order),
all-zero rows, float32 subnormals, values at and beyond the float32 range, exact rounding
ties, and non-finite values, which are refused with their first position. Example counts:
``tests/fuzzing.py`` profiles.
"""

import numpy as np
import pytest
from hypothesis import example, given, strategies as st
from hypothesis.extra import numpy as hnp

from fuzzing import examples
from golden import EPS, bitlinear, dequantize, int_gemm, quantize_activations, quantize_weights

F32 = np.float32
FLT_MAX = float(np.finfo(np.float32).max)


# --- the reference ------------------------------------------------------------------------------

def pairwise_sum(values):
    """float32 sum in NumPy's pairwise order."""
    n = len(values)
    if n < 8:
        total = F32(0)
        for v in values:
            total = F32(total + v)
        return total
    if n <= 128:
        acc = list(values[:8])
        i = 8
        while i < n - n % 8:
            acc = [F32(acc[j] + values[i + j]) for j in range(8)]
            i += 8
        total = F32(F32(F32(acc[0] + acc[1]) + F32(acc[2] + acc[3]))
                    + F32(F32(acc[4] + acc[5]) + F32(acc[6] + acc[7])))
        for v in values[i:]:
            total = F32(total + v)
        return total
    half = n // 2 - n // 2 % 8
    return F32(pairwise_sum(values[:half]) + pairwise_sum(values[half:]))


def to_f32(value):
    """One element as float32 (ints of this test are exact in float64, so this rounds once)."""
    with np.errstate(over="ignore"):
        return F32(float(value)) if not isinstance(value, np.floating) else F32(value)


def first_non_finite(flat, shape, name):
    for i, v in enumerate(flat):
        if not np.isfinite(v):
            index = ", ".join(map(str, np.unravel_index(i, shape))) if shape else ""
            return f"{name} must be finite in float32; found {v} at [{index}]"
    return None


def round_half_even(value):
    return round(float(value))


def ref_quantize_weights(w):
    flat = [to_f32(v) for v in np.asarray(w).ravel(order="C")]
    error = first_non_finite(flat, np.shape(w), "weights")
    if error:
        return error
    with np.errstate(over="ignore"):
        total = pairwise_sum([abs(v) for v in flat])
    gamma = max(F32(total / F32(len(flat))), EPS)
    if not np.isfinite(gamma):
        return "mean |weights| overflows float32"
    wq = [min(1, max(-1, round_half_even(F32(v / gamma)))) for v in flat]
    return np.array(wq, np.int8).reshape(np.shape(w)), gamma


def ref_quantize_activations(x):
    x = np.asarray(x)
    flat = [to_f32(v) for v in x.ravel(order="C")]
    error = first_non_finite(flat, x.shape, "activations")
    if error:
        return error
    k = x.shape[-1]
    xq, scales = [], []
    for start in range(0, len(flat), k):
        row = flat[start:start + k]
        scale = F32(F32(127) / max(max(abs(v) for v in row), EPS))
        scales.append(scale)
        xq += [min(127, max(-128, round_half_even(F32(v * scale)))) for v in row]
    return (np.array(xq, np.int8).reshape(x.shape),
            np.array(scales, np.float32).reshape(x.shape[:-1] + (1,)))


# --- strategies ---------------------------------------------------------------------------------

def reals(allow_non_finite):
    """Elements of every real kind: float32 (subnormals included), float64 beyond float32's
    range, small integers, and exact zeros."""
    return st.one_of(
        st.floats(width=32, allow_nan=allow_non_finite, allow_infinity=allow_non_finite),
        st.floats(allow_nan=allow_non_finite, allow_infinity=allow_non_finite),
        st.integers(-8, 8).map(lambda n: n * 2.0**-149),       # float32 subnormals
        st.sampled_from([0.0, -0.0, FLT_MAX, -FLT_MAX, 3.5e38]),
        st.integers(-(2**31), 2**31 - 1),
    )


def cast(value, dtype):
    with np.errstate(over="ignore"):
        return float(np.asarray(value, np.float64).astype(dtype))


@st.composite
def real_arrays(draw, shape, allow_non_finite):
    """An array of ``shape`` in a drawn dtype, finite or not, sometimes a Fortran-order view."""
    dtype = draw(st.sampled_from([np.float32, np.float64, np.float16, np.int64, np.int16]))
    if np.dtype(dtype).kind == "i":
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -(2**31)), min(info.max, 2**31 - 1))
    else:
        elements = st.one_of(reals(allow_non_finite),
                             st.sampled_from([0.0, 0.5, 1.5, 2.5, -0.5, 127.0]))
        if dtype is not np.float64:
            elements = elements.map(lambda v: cast(v, dtype))
            if not allow_non_finite:
                elements = elements.filter(np.isfinite)
    zero_rows = draw(st.booleans())
    arr = draw(hnp.arrays(dtype, shape, elements=elements))
    if zero_rows and arr.ndim and arr.shape[0]:
        arr[0] = 0
    if draw(st.booleans()) and arr.ndim == 2:
        arr = np.asfortranarray(arr)   # same values, Fortran order
    return arr


shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=9)
ties = st.integers(-254, 254).map(lambda n: n / 2)   # halves: exact ties once s == 1


def check(got, expected):
    if isinstance(expected, str):
        assert isinstance(got, ValueError) and str(got) == expected
        return
    assert not isinstance(got, Exception), got
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def outcome(function, *args):
    try:
        return function(*args)
    except ValueError as error:
        return error


# --- properties ---------------------------------------------------------------------------------

@examples(400)
@given(st.data(), shapes, st.booleans())
@example(None, np.array([0.5, 1.5, 1.0, 1.0]), False)       # mean 1: 0.5 -> 0, 1.5 -> 2 -> 1
@example(None, np.array([-0.5, -1.5, 1.0, 1.0]), False)     # -0.5 -> -0 -> 0
@example(None, np.zeros((2, 3), np.float32), False)         # gamma = EPS, all zero
@example(None, np.full(300, 1e-45, np.float32), False)      # subnormals only: gamma = EPS
@example(None, np.full(9, FLT_MAX, np.float32), False)      # the sum overflows float32
def test_quantize_weights(data, shape_or_array, allow_non_finite):
    w = shape_or_array if data is None else data.draw(
        real_arrays(shape_or_array, allow_non_finite))
    expected = ref_quantize_weights(w)
    got = outcome(quantize_weights, w)
    if not isinstance(expected, str):
        assert isinstance(got[1], np.float32) and got[1] == expected[1]
        expected = (expected[0],)
        got = got if isinstance(got, Exception) else (got[0],)
    check(got, expected)


@examples(400)
@given(st.data(), shapes, st.booleans())
@example(None, np.array([[127, 2.5, 3.5, -2.5, -0.5]]), False)   # docs/numerics.md
@example(None, np.array([1, -2, 0.5]), False)                     # s = 63.5: 63.5 -> 64
@example(None, np.zeros((3, 0 + 4)), False)                       # all-zero rows
@example(None, np.array([[1e-45, -1e-45, 0.0]], np.float32), False)
@example(None, np.array([[FLT_MAX, -FLT_MAX, 1.0]]), False)
@example(None, np.array([[1.0, 3.5e38]]), True)                   # inf in float32: refused
def test_quantize_activations(data, shape_or_array, allow_non_finite):
    x = shape_or_array if data is None else data.draw(
        real_arrays(shape_or_array, allow_non_finite))
    check(outcome(quantize_activations, x), ref_quantize_activations(x))


@examples(100)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=7),
                  elements=ties))
def test_quantize_activations_ties(x):
    """Rows whose largest element is 127 have s == 1 exactly: every half is a tie."""
    x = x.copy()
    x[..., 0] = 127.0
    xq, scale = quantize_activations(x)
    assert (scale == 1).all()
    assert np.array_equal(xq, ref_quantize_activations(x)[0])


@examples(60)
@given(st.integers(0, 3), st.integers(1, 6))
def test_quantize_activations_zero_sized_rows(m, k):
    xq, scale = quantize_activations(np.zeros((0, m, k), np.float32))
    assert xq.shape == (0, m, k) and scale.shape == (0, m, 1)


@examples(100)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")   # to inf, as IEEE
@given(st.data(), st.integers(1, 5), st.integers(1, 7))
def test_dequantize_and_bitlinear(data, m, n):
    y = data.draw(hnp.arrays(np.int64, (m, n), elements=st.integers(-(2**31), 2**31 - 1)))
    positive = st.floats(min_value=2.0**-126, max_value=2.0**100, width=32)
    scale = data.draw(hnp.arrays(np.float32, (m, 1), elements=positive))
    gamma = data.draw(positive)
    expected = np.array([[F32(F32(F32(float(y[i, j])) / scale[i, 0]) * F32(gamma))
                          for j in range(n)] for i in range(m)], np.float32)
    got = dequantize(y, scale, gamma)
    assert got.dtype == np.float32 and np.array_equal(got, expected, equal_nan=True)

    k = data.draw(st.integers(1, 6))
    x = data.draw(real_arrays((m, k), False))
    wq = data.draw(hnp.arrays(np.int8, (n, k), elements=st.sampled_from([-1, 0, 1])))
    reference = ref_quantize_activations(x)
    if isinstance(reference, str):       # a float64 beyond the float32 range
        with pytest.raises(ValueError) as info:
            bitlinear(x, wq, gamma)
        assert str(info.value) == reference
        return
    xq, s = reference
    y = np.array([[sum(int(a) * int(b) for a, b in zip(xq[i], wq[j])) for j in range(n)]
                  for i in range(m)])
    assert np.array_equal(int_gemm(xq, wq), y)
    expected = np.array([[F32(F32(F32(float(y[i, j])) / s[i, 0]) * F32(gamma))
                          for j in range(n)] for i in range(m)], np.float32)
    assert np.array_equal(bitlinear(x, wq, gamma), expected, equal_nan=True)


@pytest.mark.parametrize("function, value, message", [
    (quantize_weights, [[1.0, np.nan]], "weights must be finite in float32; found nan at [0, 1]"),
    (quantize_weights, [1e39], "weights must be finite in float32; found inf at [0]"),
    (quantize_activations, [[0.0], [-np.inf]],
     "activations must be finite in float32; found -inf at [1, 0]"),
    (quantize_weights, np.full(4, FLT_MAX), "mean |weights| overflows float32"),
])
def test_non_finite_refused(function, value, message):
    with pytest.raises(ValueError) as info:
        function(np.asarray(value))
    assert str(info.value) == message
