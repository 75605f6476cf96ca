"""Argument checks shared by the golden model and the hardware driver.

Every public function in :mod:`golden` validates its arguments up front with
these helpers, and the hardware driver reuses :func:`check_int8` and
:func:`check_ternary` to reject bad operands before they reach the device, so
both sides fail with the same messages.

Conventions
-----------
* A wrong *type* (a float array where integers are required, a string where a
  count is required) raises :class:`TypeError`.
* A wrong *value* (an out-of-range element, a negative count) raises
  :class:`ValueError`.
* A bad element is located by its index tuple written as ``[r, c]`` (as many
  entries as the array has dimensions); when several elements are bad, the
  first one in C (row-major) order is reported.
"""

import numbers

import numpy as np

__all__ = [
    "check_int8",
    "check_ternary",
    "check_count",
    "as_integer_array",
    "as_real_array",
    "first_bad_index",
    "format_index",
]


def format_index(index):
    """Format an index tuple as ``"[r, c]"``.

    Parameters
    ----------
    index : tuple of int
        One entry per array dimension; ``()`` formats as ``"[]"``.

    Returns
    -------
    str
    """
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def first_bad_index(mask):
    """Return the index tuple of the first ``True`` element of ``mask``.

    Parameters
    ----------
    mask : numpy.ndarray of bool, any shape
        Must contain at least one ``True`` element.

    Returns
    -------
    tuple of int
        First ``True`` position in C (row-major) order.
    """
    return tuple(int(i) for i in np.argwhere(mask)[0])


def as_integer_array(x, name):
    """Convert ``x`` to an ndarray and require an integer dtype.

    Parameters
    ----------
    x : array_like
        Any integer dtype (signed or unsigned, any width). ``bool`` is not an
        integer dtype here.
    name : str
        What ``x`` is, for the error message (e.g. ``"weights"``).

    Returns
    -------
    numpy.ndarray
        ``np.asarray(x)``, not copied when ``x`` already is an ndarray.

    Raises
    ------
    TypeError
        ``"weights must be an integer array, got float32"``.
    """
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array, got {arr.dtype}")
    return arr


def as_real_array(x, name):
    """Convert ``x`` to an ndarray and require an integer or floating dtype.

    Parameters
    ----------
    x : array_like
        Any integer or floating dtype; ``bool``, complex and object arrays are
        refused.
    name : str
        What ``x`` is, for the error message.

    Returns
    -------
    numpy.ndarray
        ``np.asarray(x)`` with its dtype unchanged.

    Raises
    ------
    TypeError
        ``"activations must be a real numeric array, got complex128"``.
    """
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be a real numeric array, got {arr.dtype}")
    return arr


def check_int8(x, name):
    """Require an integer array whose values all fit in int8.

    Parameters
    ----------
    x : array_like of integer dtype, any shape
        Values must lie in ``[-128, 127]``; the dtype may be any integer type.
    name : str
        What ``x`` is, for the error message (e.g. ``"activations"``).

    Returns
    -------
    numpy.ndarray
        ``np.asarray(x)`` with its dtype unchanged (not cast to int8).

    Raises
    ------
    TypeError
        ``"activations must be an integer array, got float64"``.
    ValueError
        ``"activations must be int8 (-128..127); found 200 at [0, 1]"``.
    """
    arr = as_integer_array(x, name)
    if arr.dtype == np.int8 or arr.size == 0 or (arr.min() >= -128 and arr.max() <= 127):
        return arr
    bad = (arr < -128) | (arr > 127)
    if bad.any():
        index = first_bad_index(bad)
        raise ValueError(
            f"{name} must be int8 (-128..127); found {arr[index]} at {format_index(index)}"
        )
    return arr


def check_ternary(w, name):
    """Require an integer array whose values are all -1, 0 or +1.

    Parameters
    ----------
    w : array_like of integer dtype, any shape
        The dtype may be any integer type.
    name : str
        What ``w`` is, for the error message (e.g. ``"weights"``).

    Returns
    -------
    numpy.ndarray
        ``np.asarray(w)`` with its dtype unchanged (not cast to int8).

    Raises
    ------
    TypeError
        ``"weights must be an integer array, got float32"``.
    ValueError
        ``"weights must be ternary (-1, 0, +1); found 2 at [0, 1]"``.
    """
    arr = as_integer_array(w, name)
    # min and max are two fast passes without temporaries; the mask only locates an offender.
    if arr.size == 0 or (arr.min() >= -1 and arr.max() <= 1):
        return arr
    # Compare instead of np.abs(): abs(int8 -128) wraps to -128 and would pass.
    bad = (arr < -1) | (arr > 1)
    if bad.any():
        index = first_bad_index(bad)
        raise ValueError(
            f"{name} must be ternary (-1, 0, +1); found {arr[index]} at {format_index(index)}"
        )
    return arr


def check_count(value, name, *, positive=False):
    """Require a Python or NumPy integer that is non-negative (or positive).

    Parameters
    ----------
    value : int or numpy.integer
        ``bool`` is refused.
    name : str
        What ``value`` is, for the error message (e.g. ``"out_features"``).
    positive : bool, keyword-only
        Refuse 0 as well as negative values.

    Returns
    -------
    int
        ``value`` as a Python int.

    Raises
    ------
    TypeError
        ``"out_features must be an integer, not float"``.
    ValueError
        ``"out_features must be a non-negative integer, not -1"``, or with
        ``positive=True``, ``"nbytes must be a positive integer, not 0"``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    value = int(value)
    if value < (1 if positive else 0):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be a {kind} integer, not {value}")
    return value
