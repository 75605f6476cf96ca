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
accumulator width must cover the same bound for its own ``K``.

How the sum is computed (exactly, whatever the order). Every product and every
partial sum of products is an integer of magnitude at most ``bound = 128 * K``
(``128 * 128 * K`` for :func:`int8_gemm`). A float32 holds every integer up to
``2**24`` exactly, a float64 every integer up to ``2**53``, so while
``bound < 2**24`` a float32 matrix product makes no rounding at all, in any
summation order and with or without fused multiply-adds; the same holds in
float64 while ``bound < 2**53``. The product is therefore computed by BLAS
(NumPy's ``matmul``) in float32 for ``K < 2**17`` (every BitNet layer: 2B-4T has
``K <= 6912``), in float64 beyond (every ``K <= MAX_K``), and in int64 only past
``2**53``. The weights are converted to floating point one block of rows at a
time (0.5 to 4 MiB), so memory stays at a block beyond the operands and the
result, and the ternary check of each block runs while it is in cache. The
results are bit-identical to the int64 product, which ``tests/test_golden_gemm.py``
checks at the extremes, at both sides of ``K = 2**17`` and on random operands.
"""

import numpy as np

from golden.checks import as_integer_array, check_int8, check_ternary

__all__ = ["MAX_K", "int_gemm", "int8_gemm", "gemm_bound"]

#: Largest reduction length for which ``128 * K`` fits in a signed int32.
MAX_K = 2**24 - 1

#: Elements of one block of weights converted to floating point, per activation row
#: (at least 2**17, 512 KiB in float32, at most 2**20): measured best on 2B-4T shapes.
_BLOCK_ELEMENTS_PER_ROW = 2**14


def _float_type(bound):
    """The narrowest of float32, float64 that holds every integer of magnitude up to
    ``bound`` exactly (``bound < 2**24``, ``bound < 2**53``), or None."""
    if bound < 2**24:
        return np.float32
    if bound < 2**53:
        return np.float64
    return None


def _exact_product(xq, wq, bound, check_block):
    """``xq @ wq.T`` (int ``[M, K]``, int ``[N, K]``, values checked by the caller, or by
    ``check_block(rows)`` on each block of weight rows before it is used) in the
    float type of :func:`_float_type` ``(bound)``, by BLAS, block of weight rows by block;
    every partial sum is an integer of magnitude at most ``bound``. Returns float ``[M, N]``
    holding exact integers, or None when ``bound`` needs int64."""
    dtype = _float_type(bound)
    if dtype is None:
        return None
    m, k = xq.shape
    n = wq.shape[0]
    x_t = xq.astype(dtype).T
    y_t = np.empty((n, m), dtype)                  # [N, M]: each block's rows are contiguous
    rows = max(1, min(2**20, _BLOCK_ELEMENTS_PER_ROW * max(8, m)) // k)
    block = np.empty((min(rows, n), k), dtype)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        piece = wq[start:stop]
        check_block(piece)
        converted = block[:stop - start]
        converted[...] = piece
        np.matmul(converted, x_t, out=y_t[start:stop])
    return y_t.T


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


def _gemm_operands(xq, wq):
    """``xq [M, K]`` and ``wq [N, K]`` as integer arrays with one K, or the documented
    ``TypeError``/``ValueError`` (types, then dimensions, then K)."""
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
    return xq, wq


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
    xq, wq = _gemm_operands(xq, wq)
    k = xq.shape[1]
    if k > MAX_K:
        raise ValueError(
            f"K={k} is too large; int32 results are exact only for K <= {MAX_K}"
        )
    check_int8(xq, "activations")
    if 0 in xq.shape or 0 in wq.shape:
        check_ternary(wq, "weights")
        return np.zeros((xq.shape[0], wq.shape[0]), np.int32)

    def check_block(piece):
        # min and max are one fast pass over a block in cache; the full check names the
        # first offender (it lies in this block, the earlier ones having passed).
        if piece.min() < -1 or piece.max() > 1:
            check_ternary(wq, "weights")

    # Exact (see the module docstring); |Y| <= 128 * K <= 2**31 - 128, so the cast is safe.
    return _exact_product(xq, wq, gemm_bound(k), check_block).astype(np.int32, order="C")


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
        Exact: ``|Y| <= 128 * 128 * K``; computed by BLAS in float32 for ``K < 2**10``, in
        float64 for ``K < 2**39`` (see the module docstring), in int64 beyond.

    Raises
    ------
    TypeError, ValueError
        As :func:`int_gemm`, with ``"weights must be int8 (-128..127); found 200 at [0, 1]"``
        for a weight out of range.
    """
    xq, wq = _gemm_operands(xq, wq)
    check_int8(xq, "activations")
    check_int8(wq, "weights")
    y = None
    if 0 not in xq.shape and 0 not in wq.shape:
        y = _exact_product(xq, wq, 128 * gemm_bound(xq.shape[1]), lambda piece: None)
    if y is None:
        return xq.astype(np.int64) @ wq.astype(np.int64).T
    return y.astype(np.int64, order="C")
