"""The one table of packed weight formats: every fact about a format is written here once.

A hardware weight word holds ``lanes`` weights: one array row (``lanes`` = the array's
columns), or ``k`` consecutive tile rows packed together on a wider weight port
(:meth:`WeightFormat.beats`, ``lanes = k * cols``). The configuration, the job layout, the
decoder, the manifest, the command lines and the transformer co-simulation all read
:data:`FORMATS`; the packers are those of :mod:`golden.packing` (the numeric contract), never
a copy.

=========  =========  ======================================  ====================
format     weights    word of ``lanes`` weights               bits per weight
=========  =========  ======================================  ====================
``i2``     ternary    ``2 * lanes`` bits, 4 weights per byte  2
``t5``     ternary    ``8 * ceil(lanes / 5)`` bits, base 3    1.6
``int8``   int8       ``8 * lanes`` bits, one byte per lane   8 (baseline only)
=========  =========  ======================================  ====================

Words are little-endian byte strings: lane ``j`` of an ``i2`` word is in bits
``[2j+1:2j]``; lane ``j`` of a ``t5`` word is base-3 digit ``j % 5`` of byte ``j // 5``; lane
``j`` of an ``int8`` word is the two's complement byte in bits ``[8j+7:8j]``.
"""

import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

from golden.checks import as_integer_array, check_count, check_int8, check_ternary
from golden.packing import (I2_BITS_PER_WEIGHT, I2_WEIGHTS_PER_BYTE, T5_WEIGHTS_PER_BYTE,
                            pack_i2_lanes, pack_t5, unpack_i2_lanes,
                            unpack_t5)

__all__ = ["WeightFormat", "FORMATS", "TERNARY_FORMATS", "WEIGHT_FORMATS", "weight_format",
           "packed_bits", "INT8_WEIGHT_BITS"]

#: Bits of one int8-baseline weight.
INT8_WEIGHT_BITS = 8


def _ceil_div(a, b):
    return -(-a // b)


def _pack_int8(wq):
    return check_int8(wq, "weights").astype(np.int8).view(np.uint8)


def _unpack_int8(packed, length):
    packed = np.asarray(packed, dtype=np.uint8)
    if packed.shape[-1] != length:
        raise ValueError(f"packed int8 weights of shape {packed.shape} have "
                         f"{packed.shape[-1]} bytes, but {length} weights per row need "
                         f"exactly {length}")
    return packed.view(np.int8)


@dataclass(frozen=True)
class WeightFormat:
    """One packed weight format.

    Attributes
    ----------
    name : str
        ``"i2"``, ``"t5"`` or ``"int8"``.
    ternary : bool
        Weights are -1, 0 or +1 (``i2``, ``t5``); else int8 (the baseline's ``int8``).
    weights_per_byte : int
        Weights sharing one byte (4, 5 or 1).
    bits_per_weight : float
        Storage cost of one weight (2, 1.6, 8).
    code_layout : str
        One line on where lane ``j`` sits in a word (the manifest carries it).
    pack : callable
        ``pack(wq[..., L]) -> uint8[..., ceil(L / weights_per_byte)]`` along the last axis.
    unpack : callable
        ``unpack(packed, L) -> int8[..., L]``, the inverse; refuses invalid codes and padding.
    """
    name: str
    ternary: bool
    weights_per_byte: int
    bits_per_weight: float
    code_layout: str
    pack: Callable
    unpack: Callable

    def word_bits(self, lanes):
        """Bits of one hardware word of ``lanes`` weights: ``2 * lanes`` for ``i2`` (not
        rounded up to bytes), whole bytes for the others."""
        if self.name == "i2":
            return I2_BITS_PER_WEIGHT * lanes
        return 8 * _ceil_div(lanes, self.weights_per_byte)

    def check_weights(self, wq, name="weights"):
        """``wq`` as an integer array if every weight is representable in this format:
        ternary for ``i2``/``t5``, int8 for ``int8`` (golden's messages)."""
        return check_ternary(wq, name) if self.ternary else check_int8(wq, name)

    def words(self, rows):
        """Weights ``[R, lanes]`` -> ``R`` word integers (little-endian bytes, masked to
        :meth:`word_bits`; ``i2`` pads its last byte with zero-weight codes past ``lanes``,
        which the mask drops)."""
        rows = as_integer_array(rows, "weights")
        if rows.ndim != 2:
            raise ValueError(f"weights must be a 2-D array [words, lanes], got shape "
                             f"{rows.shape}")
        packed = self.pack(rows)
        mask = (1 << self.word_bits(rows.shape[1])) - 1
        return [int.from_bytes(row.tobytes(), "little") & mask for row in packed]

    def beats(self, rows, rows_per_beat):
        """Weights ``[R, lanes]`` -> the words of a port that carries ``rows_per_beat`` rows
        per beat: rows ``b*k .. b*k+k-1`` packed together as one word of ``k * lanes``
        weights (:meth:`words`), the last beat padded with zero-weight rows;
        ``ceil(R / k)`` words. ``rows_per_beat=1`` is :meth:`words`."""
        rows = as_integer_array(rows, "weights")
        if rows.ndim != 2:
            raise ValueError(f"weights must be a 2-D array [rows, lanes], got shape "
                             f"{rows.shape}")
        per_beat = check_count(rows_per_beat, "rows_per_beat", positive=True)
        count = _ceil_div(rows.shape[0], per_beat)
        padded = np.zeros((count * per_beat, rows.shape[1]), dtype=rows.dtype)
        padded[:rows.shape[0]] = rows
        return self.words(padded.reshape(count, per_beat * rows.shape[1]))

    def unwords(self, words, lanes):
        """Inverse of :meth:`words`: word integers -> int8 ``[len(words), lanes]``.

        Every word must be an integer from 0 to ``2**word_bits(lanes) - 1``
        (``"word 16 at [2] does not fit in 4 bits (i2, lanes=2)"``), then its codes valid
        (the messages of :attr:`unpack`)."""
        lanes = check_count(lanes, "lanes", positive=True)
        bits = self.word_bits(lanes)
        for i, word in enumerate(words):
            if isinstance(word, (bool, np.bool_)) or not isinstance(word, numbers.Integral):
                raise TypeError(f"word {word!r} at [{i}] must be an integer, "
                                f"not {type(word).__name__}")
            if not 0 <= word < 1 << bits:
                raise ValueError(f"word {word} at [{i}] does not fit in {bits} bits "
                                 f"({self.name}, lanes={lanes})")
        nbytes = _ceil_div(lanes, self.weights_per_byte)
        pad = 0
        if self.name == "i2" and lanes % I2_WEIGHTS_PER_BYTE:
            # the bits past 2*lanes of the last byte hold zero-weight codes (01)
            for lane in range(lanes, nbytes * I2_WEIGHTS_PER_BYTE):
                pad |= 1 << (I2_BITS_PER_WEIGHT * lane)
        raw = b"".join((int(word) | pad).to_bytes(nbytes, "little") for word in words)
        packed = np.frombuffer(raw, dtype=np.uint8).reshape(len(words), nbytes)
        return self.unpack(packed, lanes)


FORMATS = {
    fmt.name: fmt for fmt in (
        WeightFormat(
            name="i2", ternary=True, weights_per_byte=I2_WEIGHTS_PER_BYTE,
            bits_per_weight=float(I2_BITS_PER_WEIGHT),
            code_layout="2-bit codes 0/1/2 = -1/0/+1, lane n in bits [2n+1:2n]",
            pack=pack_i2_lanes, unpack=unpack_i2_lanes),
        WeightFormat(
            name="t5", ternary=True, weights_per_byte=T5_WEIGHTS_PER_BYTE,
            bits_per_weight=8 / T5_WEIGHTS_PER_BYTE,
            code_layout=("base 3, byte = sum_j (w_j + 1) * 3**j, lane n is digit n % 5 of "
                         "byte n // 5 (bits [8j+7:8j])"),
            pack=pack_t5, unpack=unpack_t5),
        WeightFormat(
            name="int8", ternary=False, weights_per_byte=1,
            bits_per_weight=float(INT8_WEIGHT_BITS),
            code_layout="int8 baseline: lane n is a two's complement int8 weight in bits "
                        "[8n+7:8n]",
            pack=_pack_int8, unpack=_unpack_int8),
    )
}

#: Names of the formats of ternary weights, in table order.
TERNARY_FORMATS = tuple(name for name, fmt in FORMATS.items() if fmt.ternary)


def weight_format(name):
    """The :class:`WeightFormat` called ``name``; ``ValueError`` naming the known ones."""
    if not isinstance(name, str) or name not in FORMATS:
        known = ", ".join(repr(key) for key in FORMATS)
        raise ValueError(f"weight format must be one of {known}, not {name!r}")
    return FORMATS[name]

#: The packed ternary formats (``i2``, ``t5``): the formats of BitNet checkpoints' weights.
WEIGHT_FORMATS = TERNARY_FORMATS


def packed_bits(fmt, n_weights):
    """Number of bits that ``n_weights`` ternary weights occupy in format ``fmt``: ``2 * n``
    for ``"i2"`` (not rounded up to bytes), ``8 * ceil(n / 5)`` for ``"t5"`` (whole bytes).

    Raises
    ------
    ValueError
        ``"weight format must be 'i2' or 't5', not 'x'"``,
        ``"n_weights must be a non-negative integer, not -1"``.
    TypeError
        ``"n_weights must be an integer, not float"``.
    """
    if not isinstance(fmt, str) or fmt not in TERNARY_FORMATS:
        known = " or ".join(repr(name) for name in TERNARY_FORMATS)
        raise ValueError(f"weight format must be {known}, not {fmt!r}")
    return FORMATS[fmt].word_bits(check_count(n_weights, "n_weights"))
