"""Hardware words as little-endian byte vectors.

The accelerator's weight SRAM stores words of ``nbytes`` bytes. A word's
integer value is the little-endian concatenation of its bytes: byte ``i``
occupies bits ``[8i+7 : 8i]``. With the i2 lane format of
:mod:`golden.packing`, weight ``j`` of a word therefore sits at word bits
``[2j+1 : 2j]``; with t5, byte ``i`` of the word holds weights ``5i .. 5i+4``.
These two functions convert between the byte vectors the packers produce and
the Python integers a simulator or memory-image writer wants.
"""

import numpy as np

from golden.checks import check_count

__all__ = ["bytes_to_int", "int_to_bytes"]


def _ceil_div(a, b):
    return -(-a // b)


def bytes_to_int(b):
    """Little-endian integer value of a byte vector (a hardware word).

    Parameters
    ----------
    b : numpy.ndarray of uint8, shape [nbytes]
        ``b[0]`` is the least significant byte.

    Returns
    -------
    int
        ``sum_i b[i] << (8*i)``; 0 for an empty vector.

    Raises
    ------
    TypeError
        ``"bytes must be a uint8 array, got int64"``.
    ValueError
        ``"bytes must be a 1-D array, got shape (2, 2)"``.
    """
    arr = np.asarray(b)
    if arr.dtype != np.uint8:
        raise TypeError(f"bytes must be a uint8 array, got {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"bytes must be a 1-D array, got shape {arr.shape}")
    return int.from_bytes(arr.tobytes(), "little")


def int_to_bytes(value, nbytes):
    """Little-endian byte vector of a non-negative integer (inverse of :func:`bytes_to_int`).

    Parameters
    ----------
    value : int
        Non-negative, below ``2**(8*nbytes)``.
    nbytes : int
        Positive word width in bytes.

    Returns
    -------
    numpy.ndarray of uint8, shape [nbytes]

    Raises
    ------
    TypeError
        ``"value must be an integer, not float"``,
        ``"nbytes must be an integer, not str"``.
    ValueError
        ``"value must be a non-negative integer, not -1"``,
        ``"nbytes must be a positive integer, not 0"``,
        ``"value 256 needs 2 bytes but nbytes is 1"``.
    """
    v = check_count(value, "value")
    n = check_count(nbytes, "nbytes", positive=True)
    need = max(1, _ceil_div(v.bit_length(), 8))
    if need > n:
        raise ValueError(f"value {v} needs {need} bytes but nbytes is {n}")
    return np.frombuffer(v.to_bytes(n, "little"), dtype=np.uint8).copy()
