"""BitNet b1.58 quantizers and the BitLinear layer, in float32.

This module fixes the numeric contract of one BitLinear layer; the hardware,
its driver and the transformer model all reproduce these steps in this order.

* Weights: per-tensor absmean ternary quantization (:func:`quantize_weights`),
  done once, offline.
* Activations: per-token absmax int8 quantization
  (:func:`quantize_activations`), done for every input row.
* Product: the exact integer GEMM (:func:`golden.gemm.int_gemm`), the part the
  accelerator computes.
* Output: :func:`dequantize`, ``(y.astype(float32) / scale) * gamma``.

Every floating-point step is a single IEEE float32 operation with
round-to-nearest-even, so each result is reproducible bit for bit. Rounding to
integers uses ``np.rint`` (round half to even), which matches ``torch.round``:
2.5 -> 2, 3.5 -> 4, -0.5 -> -0.
"""

import numpy as np

from golden.checks import (
    as_integer_array,
    as_real_array,
    check_ternary,
    first_bad_index,
    format_index,
)
from golden.gemm import int_gemm

__all__ = [
    "EPS",
    "quantize_weights",
    "quantize_activations",
    "dequantize",
    "bitlinear",
]

#: Floor of ``mean(|W|)`` and of ``max(|x|)``; keeps all-zero inputs finite.
EPS = np.float32(1e-5)


def _to_float32(x, name):
    # C order fixes the summation order of np.mean, so gamma is reproducible.
    # Values beyond the float32 range become inf and are reported just below.
    with np.errstate(over="ignore"):
        x32 = np.ascontiguousarray(as_real_array(x, name), dtype=np.float32)
    bad = ~np.isfinite(x32)
    if bad.any():
        index = first_bad_index(bad)
        raise ValueError(
            f"{name} must be finite in float32; found {x32[index]} at {format_index(index)}"
        )
    return x32


def _check_gamma(gamma):
    g = np.asarray(gamma)
    if g.shape != () or not (
        np.issubdtype(g.dtype, np.integer) or np.issubdtype(g.dtype, np.floating)
    ):
        if isinstance(gamma, np.ndarray):
            what = f"an array of shape {g.shape}"
        else:
            what = type(gamma).__name__
        raise TypeError(f"gamma must be a real scalar, not {what}")
    with np.errstate(over="ignore"):  # too large for float32 -> inf, reported below
        g32 = np.float32(g)
    if not (np.isfinite(g32) and g32 > 0):
        raise ValueError(f"gamma must be positive and finite in float32, not {float(g32)}")
    return g32


def quantize_weights(w):
    """Ternarize a weight tensor with one per-tensor absmean scale.

    Order of operations (every step in float32):

    1. ``W = float32(w)`` (C order).
    2. ``gamma = max(mean(|W|), 1e-5)``; the mean is NumPy's float32 pairwise
       sum over the elements in C order, divided by their count.
    3. ``Wq = clip(rint(W / gamma), -1, 1)``; ``W / gamma`` is a float32
       division, ``rint`` rounds half to even (0.5 -> 0, 1.5 -> 2 -> 1).

    Parameters
    ----------
    w : array_like of real dtype, any non-empty shape
        Full-precision weights, e.g. ``[N, K]`` for a linear layer.

    Returns
    -------
    wq : numpy.ndarray of int8, same shape as ``w``
        Values in ``{-1, 0, +1}``.
    gamma : numpy.float32
        The scale; ``W ~= wq * gamma``. An all-zero ``w`` gives ``gamma = 1e-5``
        and ``wq`` all zero.

    Raises
    ------
    TypeError
        ``"weights must be a real numeric array, got complex128"``.
    ValueError
        ``"weights must not be empty, got shape (0, 4)"``,
        ``"weights must be finite in float32; found nan at [0, 1]"``,
        ``"mean |weights| overflows float32"``.
    """
    arr = as_real_array(w, "weights")
    if arr.size == 0:
        raise ValueError(f"weights must not be empty, got shape {arr.shape}")
    w32 = _to_float32(arr, "weights")
    with np.errstate(over="ignore"):  # an overflowing sum gives inf, reported below
        gamma = np.maximum(np.mean(np.abs(w32), dtype=np.float32), EPS)
    if not np.isfinite(gamma):
        raise ValueError("mean |weights| overflows float32")
    wq = np.clip(np.rint(w32 / gamma), -1, 1).astype(np.int8)
    return wq, np.float32(gamma)


def quantize_activations(x):
    """Quantize activations to int8 with one absmax scale per token (row).

    Order of operations (every step in float32):

    1. ``X = float32(x)``.
    2. ``absmax = max(|X|)`` over the last axis, kept as a size-1 axis.
    3. ``s = float32(127) / max(absmax, float32(1e-5))``.
    4. ``Xq = clip(rint(X * s), -128, 127)``; ``X * s`` is a float32 product,
       ``rint`` rounds half to even (2.5 -> 2).

    The element of largest magnitude maps to +-127; -128 is never produced,
    but the GEMM accepts it.

    Parameters
    ----------
    x : array_like of real dtype, shape [..., K], K >= 1
        One token per row along the last axis; any leading shape (including
        zero-sized leading axes).

    Returns
    -------
    xq : numpy.ndarray of int8, shape [..., K]
    scale : numpy.ndarray of float32, shape [..., 1]
        ``s`` per row; ``X ~= xq / scale``. An all-zero row has
        ``scale = 127 / 1e-5`` and quantizes to zeros.

    Raises
    ------
    TypeError
        ``"activations must be a real numeric array, got bool"``.
    ValueError
        ``"activations must have at least 1 dimension [..., K], got shape ()"``,
        ``"activations must have K >= 1 along the last axis, got shape (3, 0)"``,
        ``"activations must be finite in float32; found inf at [0, 2]"``.
    """
    arr = as_real_array(x, "activations")
    if arr.ndim == 0:
        raise ValueError("activations must have at least 1 dimension [..., K], got shape ()")
    if arr.shape[-1] == 0:
        raise ValueError(
            f"activations must have K >= 1 along the last axis, got shape {arr.shape}"
        )
    x32 = _to_float32(arr, "activations")
    absmax = np.max(np.abs(x32), axis=-1, keepdims=True)
    scale = np.float32(127) / np.maximum(absmax, EPS)
    xq = np.clip(np.rint(x32 * scale), -128, 127).astype(np.int8)
    return xq, scale.astype(np.float32, copy=False)


def dequantize(y_int, scale, gamma):
    """Turn integer GEMM results back into float32 outputs.

    Order of operations, which is the contract (the transformer reuses it):
    ``(y_int.astype(float32) / scale) * gamma``. That is: convert to float32
    (exact for ``|y| <= 2**24``, round to nearest even beyond), one float32
    division by the row's activation scale, then one float32 multiplication
    by the weight scale. Other orders (e.g. ``y / (scale / gamma)``) differ in
    the last bit.

    Parameters
    ----------
    y_int : array_like of integer dtype, shape [..., N]
        Output of :func:`golden.gemm.int_gemm` (leading axes restored).
    scale : array_like of real dtype, shape [..., 1]
        Activation scales from :func:`quantize_activations`, same leading
        shape as ``y_int``; cast to float32; every value positive and finite.
    gamma : real scalar
        Weight scale from :func:`quantize_weights`; cast to float32; positive
        and finite.

    Returns
    -------
    numpy.ndarray of float32, shape [..., N]

    Raises
    ------
    TypeError
        ``"y_int must be an integer array, got float32"``,
        ``"scale must be a real numeric array, got bool"``,
        ``"gamma must be a real scalar, not str"``.
    ValueError
        ``"y_int must have at least 1 dimension [..., N], got shape ()"``,
        ``"scale must have shape (2, 1) to match y_int of shape (2, 5), got (2, 5)"``,
        ``"scale must be positive and finite in float32; found 0.0 at [1, 0]"``,
        ``"gamma must be positive and finite in float32, not -1.0"``.
    """
    y = as_integer_array(y_int, "y_int")
    if y.ndim == 0:
        raise ValueError("y_int must have at least 1 dimension [..., N], got shape ()")
    s = as_real_array(scale, "scale")
    expected = y.shape[:-1] + (1,)
    if s.shape != expected:
        raise ValueError(
            f"scale must have shape {expected} to match y_int of shape {y.shape}, got {s.shape}"
        )
    s32 = s.astype(np.float32)
    bad = ~(np.isfinite(s32) & (s32 > 0))
    if bad.any():
        index = first_bad_index(bad)
        raise ValueError(
            f"scale must be positive and finite in float32; found {s32[index]} "
            f"at {format_index(index)}"
        )
    g32 = _check_gamma(gamma)
    return (y.astype(np.float32) / s32) * g32


def bitlinear(x, wq, gamma, *, gemm=int_gemm):
    """One BitLinear layer (no bias): quantize, integer GEMM, dequantize.

    Order of operations:

    1. ``xq, scale = quantize_activations(x)``, shapes ``[..., K]``, ``[..., 1]``.
    2. Flatten the leading axes: ``xq`` becomes ``[M, K]`` (C order).
    3. ``y = gemm(xq, wq)``, int ``[M, N]``; restore the leading axes.
    4. ``dequantize(y, scale, gamma)``.

    Parameters
    ----------
    x : array_like of real dtype, shape [..., K]
        Full-precision activations.
    wq : array_like of integer dtype, shape [N, K]
        Ternary weights (e.g. from :func:`quantize_weights`), one output
        feature per row; passed to ``gemm`` as int8.
    gamma : real scalar
        Weight scale that belongs with ``wq``.
    gemm : callable, keyword-only
        ``gemm(xq, wq) -> y`` with ``xq`` int8 ``[M, K]``, ``wq`` int8
        ``[N, K]`` and ``y`` an integer array ``[M, N]``; default
        :func:`golden.gemm.int_gemm`. Substitute the hardware here to check it
        end to end.

    Returns
    -------
    numpy.ndarray of float32, shape [..., N]

    Raises
    ------
    TypeError
        ``"gemm must be callable, not int"``,
        ``"gemm must return an integer array, got float64"``, and the type
        errors of the quantizers and of :func:`dequantize`.
    ValueError
        ``"weights must be a 2-D array [N, K], got shape (4,)"``,
        ``"weights must be ternary (-1, 0, +1); found 2 at [0, 1]"``,
        ``"K mismatch: activations have K=5 but weights have K=4"``,
        ``"gemm returned shape (2, 3); expected (4, 3)"``, and the value
        errors of :func:`quantize_activations` and :func:`dequantize`.
    """
    w = as_integer_array(wq, "weights")
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D array [N, K], got shape {w.shape}")
    check_ternary(w, "weights")
    g32 = _check_gamma(gamma)
    if not callable(gemm):
        raise TypeError(f"gemm must be callable, not {type(gemm).__name__}")
    arr = as_real_array(x, "activations")
    if arr.ndim >= 1 and arr.shape[-1] != w.shape[1]:
        raise ValueError(
            f"K mismatch: activations have K={arr.shape[-1]} but weights have K={w.shape[1]}"
        )
    return checked_bitlinear(arr, w.astype(np.int8, copy=False), g32, gemm)


def checked_bitlinear(x, wq, gamma, gemm):
    """:func:`bitlinear` on arguments already checked: ``x`` real ``[..., K]``, ``wq`` int8
    ternary ``[N, K]``, ``gamma`` a positive finite float32, ``gemm`` callable (the
    transformer validates its weights once, at construction, not on every call). Same steps,
    same result; the ``gemm`` result is still checked, with the errors of :func:`bitlinear`."""
    xq, scale = quantize_activations(x)
    lead = xq.shape[:-1]
    m, n = int(np.prod(lead, dtype=np.int64)), wq.shape[0]
    y = np.asarray(gemm(xq.reshape(m, wq.shape[1]), wq))
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"gemm must return an integer array, got {y.dtype}")
    if y.shape != (m, n):
        raise ValueError(f"gemm returned shape {y.shape}; expected {(m, n)}")
    return dequantize(y.reshape(lead + (n,)), scale, gamma)
