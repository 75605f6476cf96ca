"""Exact integer GEMM of int8 activations with ternary weights.

This is the operation the accelerator's systolic array implements, and the
reference its results are compared against bit for bit::

    Y[m, n] = sum_k Xq[m, k] * Wq[n, k]        (exact, no rounding, no saturation)

Shapes follow ``torch.nn.functional.linear``: activations are ``[M, K]`` (one
token per row), weights are ``[N, K]`` (one output feature per row, the same
layout as an ``nn.Linear`` weight), and the result is ``[M, N]``.

Range: every product lies in ``[-128, 128]``, so ``|Y[m, n]| <= 128 * K``.
For ``K <= MAX_K = 2**24 - 1`` that bound is at most ``2**31 - 128``, so the
result always fits in int32 and the accumulator never wraps; the hardware's
accumulator width must cover the same bound for its own ``K``. The sum is
computed in int64, where NumPy's matmul is exact, and then cast to int32.
"""

import numpy as np

from golden.checks import as_integer_array, check_int8, check_ternary

__all__ = ["MAX_K", "int_gemm", "int8_gemm", "gemm_bound"]

#: Largest reduction length for which ``128 * K`` fits in a signed int32.
MAX_K = 2**24 - 1


def gemm_bound(k):
    """Largest possible ``|Y[m, n]|`` for reduction length ``k``.

    Parameters
    ----------
    k : int
        Reduction length ``K`` (non-negative).

    Returns
    -------
    int
        ``128 * k``: reached by activations of -128 against weights of -1
        (every product is ``+128``) or against weights of +1 (every product is
        ``-128``). An accumulator needs ``(128 * k).bit_length() + 1`` bits.
    """
    return 128 * int(k)


def int_gemm(xq, wq):
    """Exact integer matrix product ``Y = Xq @ Wq.T``.

    Parameters
    ----------
    xq : array_like of integer dtype, shape [M, K]
        Quantized activations. Any integer dtype is accepted; every value must
        lie in the int8 range ``[-128, 127]``.
    wq : array_like of integer dtype, shape [N, K]
        Ternary weights, one output feature per row. Any integer dtype is
        accepted; every value must be -1, 0 or +1.

    Returns
    -------
    numpy.ndarray of int32, shape [M, N]
        ``Y[m, n] = sum_k xq[m, k] * wq[n, k]``, exact. Zero-sized ``M``, ``N``
        or ``K`` are allowed (``K = 0`` gives all zeros).

    Raises
    ------
    TypeError
        A non-integer array:
        ``"activations must be an integer array, got float32"``.
    ValueError
        Checked in this order, each with the first offender in row-major order:

        * ``"activations must be a 2-D array [M, K], got shape (3,)"``
        * ``"weights must be a 2-D array [N, K], got shape (2, 2, 2)"``
        * ``"K mismatch: activations have K=5 but weights have K=4"``
        * ``"K=16777216 is too large; int32 results are exact only for K <= 16777215"``
        * ``"activations must be int8 (-128..127); found 200 at [0, 1]"``
        * ``"weights must be ternary (-1, 0, +1); found 2 at [0, 1]"``
    """
    xq = as_integer_array(xq, "activations")
    wq = as_integer_array(wq, "weights")
    if xq.ndim != 2:
        raise ValueError(f"activations must be a 2-D array [M, K], got shape {xq.shape}")
    if wq.ndim != 2:
        raise ValueError(f"weights must be a 2-D array [N, K], got shape {wq.shape}")
    k = xq.shape[1]
    if wq.shape[1] != k:
        raise ValueError(
            f"K mismatch: activations have K={k} but weights have K={wq.shape[1]}"
        )
    if k > MAX_K:
        raise ValueError(
            f"K={k} is too large; int32 results are exact only for K <= {MAX_K}"
        )
    check_int8(xq, "activations")
    check_ternary(wq, "weights")

    # int64 matmul is exact; |Y| <= 128 * K <= 2**31 - 128, so the cast is safe.
    y = xq.astype(np.int64) @ wq.astype(np.int64).T
    return y.astype(np.int32)


def int8_gemm(xq, wq):
    """Exact ``Y = Xq @ Wq.T`` with int8 weights: the reference of the int8 multiply-accumulate
    baseline (``pe="int8"``, weight format ``int8``), never of BitNet itself.

    Parameters
    ----------
    xq : array_like of integer dtype, shape [M, K]
        int8 activations (-128..127).
    wq : array_like of integer dtype, shape [N, K]
        int8 weights (-128..127).

    Returns
    -------
    numpy.ndarray of int64, shape [M, N]
        Exact: ``|Y| <= 128 * 128 * K``, computed in int64.

    Raises
    ------
    TypeError, ValueError
        As :func:`int_gemm`, with ``"weights must be int8 (-128..127); found 200 at [0, 1]"``
        for a weight out of range.
    """
    xq = as_integer_array(xq, "activations")
    wq = as_integer_array(wq, "weights")
    if xq.ndim != 2:
        raise ValueError(f"activations must be a 2-D array [M, K], got shape {xq.shape}")
    if wq.ndim != 2:
        raise ValueError(f"weights must be a 2-D array [N, K], got shape {wq.shape}")
    if wq.shape[1] != xq.shape[1]:
        raise ValueError(
            f"K mismatch: activations have K={xq.shape[1]} but weights have K={wq.shape[1]}"
        )
    check_int8(xq, "activations")
    check_int8(wq, "weights")
    return xq.astype(np.int64) @ wq.astype(np.int64).T
