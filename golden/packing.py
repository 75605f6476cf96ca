"""Packed ternary weight formats: the one implementation everything uses.

Three layouts, all holding ternary weights ``w`` in ``{-1, 0, +1}``:

``i2`` (checkpoint), :func:`pack_i2` / :func:`unpack_i2`
    The HuggingFace BitNet checkpoint layout (``transformers``
    ``integrations/bitnet.py``, ``pack_weights`` / ``unpack_weights``). A weight
    matrix ``[out, in]`` packs into ``uint8 [P, in]`` with ``P = ceil(out/4)``;
    code ``= w + 1`` (0, 1, 2 for -1, 0, +1; code 3 is invalid). Byte
    ``[r, c]`` holds output rows ``r, r+P, r+2P, r+3P`` (column ``c``) in bits
    ``[1:0], [3:2], [5:4], [7:6]``: the four quarters of the rows are
    interleaved, not adjacent rows.

    Padding (``out`` not a multiple of 4): the missing rows ``out .. 4P-1`` are
    packed as code 1 (zero weight) here. HuggingFace's ``pack_weights`` leaves
    those bits at 0, i.e. code 0, which its ``unpack_weights`` turns into -1
    rows (harmless only because its ``BitLinear`` assumes ``out % 4 == 0``).
    So for ``out % 4 == 0`` the bytes are identical to HuggingFace's; otherwise
    only the padding bits differ. :func:`unpack_i2` drops the padding rows
    whatever valid code they hold (0, 1 or 2), so tensors packed by
    HuggingFace unpack too; a code 3 is rejected anywhere, padding included.

``i2`` lanes (hardware SRAM), :func:`pack_i2_lanes` / :func:`unpack_i2_lanes`
    Packs along the last axis: weight ``j`` of a row goes to byte ``j // 4``,
    bits ``[2*(j%4)+1 : 2*(j%4)]`` (little-endian lanes), same codes as above.
    Padding lanes must be code 1 (zero weight); :func:`unpack_i2_lanes`
    rejects anything else, so every valid packed array has exactly one
    meaning. A hardware word is the little-endian concatenation of these
    bytes (:func:`bytes_to_int`), so weight ``j`` sits at word bits
    ``[2j+1 : 2j]``.

``t5`` (hardware SRAM, base 3), :func:`pack_t5` / :func:`unpack_t5`
    Five weights per byte along the last axis: weights ``5i .. 5i+4`` go to
    byte ``i`` as ``sum_j (w[5i+j] + 1) * 3**j`` (digit ``j`` has weight
    ``3**j``), so bytes range over ``0 .. 242``; 243-255 are invalid. Padding
    weights are 0 (digit 1) and :func:`unpack_t5` rejects other padding
    digits. This is plain base 3, not llama.cpp's TQ1_0 fixed-point encoding.

All packers and unpackers are vectorized; the only Python loops run over the
4 or 5 lanes of a byte.
"""

import numpy as np

from golden.checks import check_count, check_ternary, first_bad_index, format_index
# Hardware words are little-endian byte strings; re-exported as part of the format API.
from golden.words import bytes_to_int, int_to_bytes

__all__ = [
    "I2_BITS_PER_WEIGHT",
    "I2_WEIGHTS_PER_BYTE",
    "T5_WEIGHTS_PER_BYTE",
    "T5_MAX_BYTE",
    "pack_i2",
    "unpack_i2",
    "pack_i2_lanes",
    "unpack_i2_lanes",
    "pack_t5",
    "unpack_t5",
    "bytes_to_int",
    "int_to_bytes",
]

I2_BITS_PER_WEIGHT = 2
I2_WEIGHTS_PER_BYTE = 4
T5_WEIGHTS_PER_BYTE = 5
#: Largest valid t5 byte: ``3**5 - 1``.
T5_MAX_BYTE = 3**T5_WEIGHTS_PER_BYTE - 1

_ZERO_CODE = 1  # code (i2) and digit (t5) of a zero weight


def _ceil_div(a, b):
    return -(-a // b)


def _codes(wq, name):
    """Ternary ``wq`` (any integer dtype) as uint8 codes ``w + 1``."""
    w = check_ternary(wq, name)
    return (w.astype(np.int8) + 1).astype(np.uint8)


def _as_packed(packed, what):
    p = np.asarray(packed)
    if p.dtype != np.uint8:
        raise TypeError(f"{what} must be a uint8 array, got {p.dtype}")
    return p


def _as_packed_rows(packed, what):
    """``packed`` as a uint8 array of at least 1 dimension (rows on the last axis)."""
    p = _as_packed(packed, what)
    if p.ndim == 0:
        raise ValueError(f"{what} must have at least 1 dimension [..., bytes], got shape ()")
    return p


def _check_size(p, have, need, what, holds, unit):
    """Require exactly ``need`` packed rows/bytes; the layout depends on the count."""
    if have < need:
        raise ValueError(f"{what} of shape {p.shape} cannot hold {holds}; need {need} {unit}")
    if have > need:
        raise ValueError(
            f"{what} of shape {p.shape} have {have} {unit}, but {holds} need exactly {need}"
        )


def _bits(lane):
    return f"bits [{2 * lane + 1}:{2 * lane}]"


def pack_i2(wq):
    """Pack a ternary matrix in the HuggingFace BitNet checkpoint layout.

    Parameters
    ----------
    wq : array_like of integer dtype, shape [out, in]
        Values in ``{-1, 0, +1}``.

    Returns
    -------
    numpy.ndarray of uint8, shape [ceil(out/4), in]
        Byte ``[r, c]`` holds ``wq[r + i*P, c] + 1`` in bits ``[2i+1:2i]`` for
        ``i = 0..3``, ``P = ceil(out/4)``; missing rows are code 1.

    Raises
    ------
    TypeError
        ``"weights must be an integer array, got float32"``.
    ValueError
        ``"weights must be ternary (-1, 0, +1); found 2 at [0, 1]"``,
        ``"weights must be a 2-D array [out, in], got shape (3,)"``.
    """
    codes = _codes(wq, "weights")
    if codes.ndim != 2:
        raise ValueError(f"weights must be a 2-D array [out, in], got shape {codes.shape}")
    out, cols = codes.shape
    rows = _ceil_div(out, I2_WEIGHTS_PER_BYTE)
    padded = np.full((I2_WEIGHTS_PER_BYTE * rows, cols), _ZERO_CODE, dtype=np.uint8)
    padded[:out] = codes
    quarters = padded.reshape(I2_WEIGHTS_PER_BYTE, rows, cols)
    packed = np.zeros((rows, cols), dtype=np.uint8)
    for i in range(I2_WEIGHTS_PER_BYTE):
        packed |= quarters[i] << (I2_BITS_PER_WEIGHT * i)
    return packed


def unpack_i2(packed, out_features):
    """Unpack HuggingFace-layout i2 weights (inverse of :func:`pack_i2`).

    Parameters
    ----------
    packed : numpy.ndarray of uint8, shape [ceil(out_features/4), in]
    out_features : int
        Number of output rows to recover; the padding rows beyond it are
        dropped (any code but 3 is accepted there, see the module docstring).

    Returns
    -------
    numpy.ndarray of int8, shape [out_features, in]
        Values in ``{-1, 0, +1}``.

    Raises
    ------
    TypeError
        ``"packed i2 weights must be a uint8 array, got int8"``,
        ``"out_features must be an integer, not float"``.
    ValueError
        ``"packed i2 weights must be a 2-D array [ceil(out/4), in], got shape (8,)"``,
        ``"out_features must be a non-negative integer, not -1"``,
        ``"packed i2 weights of shape (3, 8) cannot hold 13 output rows; need 4 packed rows"``,
        ``"packed i2 weights of shape (5, 8) have 5 packed rows, but 13 output rows need exactly 4"``,
        ``"invalid i2 code 3 at packed[2, 7] bits [5:4]"``.
    """
    what = "packed i2 weights"
    p = _as_packed(packed, what)
    if p.ndim != 2:
        raise ValueError(
            f"{what} must be a 2-D array [ceil(out/4), in], got shape {p.shape}"
        )
    out = check_count(out_features, "out_features")
    rows = _ceil_div(out, I2_WEIGHTS_PER_BYTE)
    _check_size(p, p.shape[0], rows, what, f"{out} output rows", "packed rows")
    # codes[r, c, i] = bits [2i+1:2i] of packed[r, c]
    codes = np.stack(
        [(p >> (I2_BITS_PER_WEIGHT * i)) & 3 for i in range(I2_WEIGHTS_PER_BYTE)], axis=-1
    )
    bad = codes == 3
    if bad.any():
        *index, lane = first_bad_index(bad)
        raise ValueError(f"invalid i2 code 3 at packed{format_index(index)} {_bits(lane)}")
    # Row r + i*P comes from lane i of packed row r.
    rows_out = np.moveaxis(codes, -1, 0).reshape(I2_WEIGHTS_PER_BYTE * rows, p.shape[1])
    return rows_out[:out].astype(np.int8) - 1


def pack_i2_lanes(wq):
    """Pack ternary weights along the last axis, 4 per byte, little-endian lanes.

    Parameters
    ----------
    wq : array_like of integer dtype, shape [..., L]
        Values in ``{-1, 0, +1}``.

    Returns
    -------
    numpy.ndarray of uint8, shape [..., ceil(L/4)]
        Weight ``j`` of a row is code ``w + 1`` in bits ``[2(j%4)+1 : 2(j%4)]``
        of byte ``j // 4``; padding lanes are code 1 (zero weight).

    Raises
    ------
    TypeError
        ``"weights must be an integer array, got float32"``.
    ValueError
        ``"weights must be ternary (-1, 0, +1); found 2 at [0, 1]"``,
        ``"weights must have at least 1 dimension [..., L], got shape ()"``.
    """
    places = [1 << (I2_BITS_PER_WEIGHT * j) for j in range(I2_WEIGHTS_PER_BYTE)]
    return _pack_last_axis(wq, I2_WEIGHTS_PER_BYTE, places)


def unpack_i2_lanes(packed, length):
    """Unpack little-endian i2 lanes (inverse of :func:`pack_i2_lanes`).

    Parameters
    ----------
    packed : numpy.ndarray of uint8, shape [..., ceil(length/4)]
    length : int
        Weights per row ``L``.

    Returns
    -------
    numpy.ndarray of int8, shape [..., length]

    Raises
    ------
    TypeError
        ``"packed i2 lanes must be a uint8 array, got int64"``,
        ``"length must be an integer, not float"``.
    ValueError
        ``"packed i2 lanes must have at least 1 dimension [..., bytes], got shape ()"``,
        ``"packed i2 lanes of shape (2, 3) cannot hold 13 weights per row; need 4 bytes"``,
        ``"packed i2 lanes of shape (2, 5) have 5 bytes, but 13 weights per row need exactly 4"``,
        ``"invalid i2 code 3 at packed[1, 2] bits [3:2]"``,
        ``"i2 padding at packed[0, 3] bits [7:6] must be code 1 (zero weight), found code 0"``.
    """
    what = "packed i2 lanes"
    p = _as_packed_rows(packed, what)
    n = check_count(length, "length")
    need = _ceil_div(n, I2_WEIGHTS_PER_BYTE)
    _check_size(p, p.shape[-1], need, what, f"{n} weights per row", "bytes")
    codes = np.stack(
        [(p >> (I2_BITS_PER_WEIGHT * j)) & 3 for j in range(I2_WEIGHTS_PER_BYTE)], axis=-1
    )
    bad = codes == 3
    if bad.any():
        *index, lane = first_bad_index(bad)
        raise ValueError(f"invalid i2 code 3 at packed{format_index(index)} {_bits(lane)}")
    flat = codes.reshape(p.shape[:-1] + (I2_WEIGHTS_PER_BYTE * p.shape[-1],))
    pad = flat[..., n:] != _ZERO_CODE
    if pad.any():
        *lead, pos = first_bad_index(pad)
        j = n + pos
        byte, lane = divmod(j, I2_WEIGHTS_PER_BYTE)
        raise ValueError(
            f"i2 padding at packed{format_index(lead + [byte])} {_bits(lane)} "
            f"must be code 1 (zero weight), found code {flat[tuple(lead) + (j,)]}"
        )
    return flat[..., :n].astype(np.int8) - 1


def pack_t5(wq):
    """Pack ternary weights along the last axis in base 3, five per byte.

    Parameters
    ----------
    wq : array_like of integer dtype, shape [..., L]
        Values in ``{-1, 0, +1}``.

    Returns
    -------
    numpy.ndarray of uint8, shape [..., ceil(L/5)]
        Byte ``i`` of a row is ``sum_j (w[5i+j] + 1) * 3**j`` for ``j = 0..4``
        (``0 .. 242``); padding weights are 0 (digit 1).

    Raises
    ------
    TypeError
        ``"weights must be an integer array, got float32"``.
    ValueError
        ``"weights must be ternary (-1, 0, +1); found 2 at [0, 1]"``,
        ``"weights must have at least 1 dimension [..., L], got shape ()"``.
    """
    return _pack_last_axis(wq, T5_WEIGHTS_PER_BYTE, [3**j for j in range(T5_WEIGHTS_PER_BYTE)])


def unpack_t5(packed, length):
    """Unpack base-3 t5 bytes (inverse of :func:`pack_t5`).

    Parameters
    ----------
    packed : numpy.ndarray of uint8, shape [..., ceil(length/5)]
    length : int
        Weights per row ``L``.

    Returns
    -------
    numpy.ndarray of int8, shape [..., length]

    Raises
    ------
    TypeError
        ``"packed t5 weights must be a uint8 array, got int8"``,
        ``"length must be an integer, not float"``.
    ValueError
        ``"packed t5 weights must have at least 1 dimension [..., bytes], got shape ()"``,
        ``"packed t5 weights of shape (2, 2) cannot hold 13 weights per row; need 3 bytes"``,
        ``"packed t5 weights of shape (2, 4) have 4 bytes, but 13 weights per row need exactly 3"``,
        ``"invalid t5 byte 250 at packed[1, 3]; bytes must be <= 242"``,
        ``"t5 padding at packed[0, 2] digit 4 must be 1 (zero weight), found digit 0"``.
    """
    what = "packed t5 weights"
    p = _as_packed_rows(packed, what)
    n = check_count(length, "length")
    need = _ceil_div(n, T5_WEIGHTS_PER_BYTE)
    _check_size(p, p.shape[-1], need, what, f"{n} weights per row", "bytes")
    bad = p > T5_MAX_BYTE
    if bad.any():
        index = first_bad_index(bad)
        raise ValueError(
            f"invalid t5 byte {p[index]} at packed{format_index(index)}; "
            f"bytes must be <= {T5_MAX_BYTE}"
        )
    rest = p.copy()
    digits = []
    for _ in range(T5_WEIGHTS_PER_BYTE):
        digits.append(rest % 3)
        rest //= 3
    flat = np.stack(digits, axis=-1).reshape(p.shape[:-1] + (T5_WEIGHTS_PER_BYTE * p.shape[-1],))
    pad = flat[..., n:] != _ZERO_CODE
    if pad.any():
        *lead, pos = first_bad_index(pad)
        j = n + pos
        raise ValueError(
            f"t5 padding at packed{format_index(lead + [j // T5_WEIGHTS_PER_BYTE])} "
            f"digit {j % T5_WEIGHTS_PER_BYTE} must be 1 (zero weight), "
            f"found digit {flat[tuple(lead) + (j,)]}"
        )
    return flat[..., :n].astype(np.int8) - 1


def _pack_last_axis(wq, per_byte, place_values):
    """Pack codes ``w + 1`` along the last axis, ``per_byte`` per byte.

    Byte ``i`` is ``sum_j code[per_byte*i + j] * place_values[j]``; the place
    values are ``4**j`` for i2 lanes (bit shifts) and ``3**j`` for t5.
    """
    codes = _codes(wq, "weights")
    if codes.ndim == 0:
        raise ValueError("weights must have at least 1 dimension [..., L], got shape ()")
    lead, n = codes.shape[:-1], codes.shape[-1]
    nbytes = _ceil_div(n, per_byte)
    padded = np.full(lead + (per_byte * nbytes,), _ZERO_CODE, dtype=np.uint8)
    padded[..., :n] = codes
    groups = padded.reshape(lead + (nbytes, per_byte))
    packed = np.zeros(lead + (nbytes,), dtype=np.uint8)
    for j, place in enumerate(place_values):
        # Partial sums never exceed 255 (i2) or 242 (t5), so uint8 is exact.
        packed += groups[..., j] * np.uint8(place)
    return packed
