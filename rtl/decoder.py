"""Unpacks one packed weight SRAM word into the ternary codes of one array row."""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.formats import FORMATS, TERNARY_FORMATS

from .checks import check_choice, check_integer
from .pe import TernaryCode


__all__ = ["WeightDecoder", "t5_digits"]


def t5_digits(byte):
    """The five base-3 digits of a ``t5`` byte, least significant first (each 0, 1 or 2,
    meaning -1, 0, +1). Bytes above 242 are not valid ``t5`` bytes; the hardware decodes them as
    five zero weights."""
    if byte > 242:
        return (1,) * 5
    return tuple((byte // 3 ** j) % 3 for j in range(5))


def _code_bits(digit):
    """The 2-bit :class:`TernaryCode` (``nz`` in bit 0, ``neg`` in bit 1) of a 0/1/2 digit."""
    return {0: 0b11, 1: 0b00, 2: 0b01}[digit]


class WeightDecoder(wiring.Component):
    """Combinational decoder from a packed word to ``lanes`` ternary codes.

    Word formats (``docs/numerics.md``):

    * ``i2``: lane ``n`` is the 2-bit code in bits ``[2n+1:2n]``; codes 0/1/2 mean -1/0/+1. The
      invalid code 3 decodes as 0.
    * ``t5``: lane ``n`` is base-3 digit ``n % 5`` of byte ``n // 5`` (byte ``j`` in bits
      ``[8j+7:8j]``), ``byte = sum_j (w_j + 1) * 3**j``. Each byte goes through a 256-entry
      table, one entry per byte value; bytes above 242 decode as five zeros.

    Parameters (keyword only)
    -------------------------
    weight_format : str
        A ternary format of golden's table (:data:`golden.formats.TERNARY_FORMATS`: ``"i2"``
        or ``"t5"``).
    lanes : int
        Weights per word (the array's column count), at least 1.
    word_bits : int
        Width of the packed word: what the format needs for ``lanes`` weights
        (:meth:`golden.formats.WeightFormat.word_bits`).

    Attributes
    ----------
    latency : int
        0: combinational.
    """

    latency = 0

    def __init__(self, *, weight_format, lanes, word_bits):
        check_choice("weight_format", weight_format, TERNARY_FORMATS)
        check_integer("lanes", lanes, 1)
        check_integer("word_bits", word_bits, 1)
        needed = FORMATS[weight_format].word_bits(lanes)
        if word_bits != needed:
            raise ValueError(f"word_bits must be {needed} for {lanes} {weight_format} weights, "
                             f"not {word_bits}")
        self.weight_format = weight_format
        self.lanes = lanes
        super().__init__({
            "word": In(word_bits),
            "codes": Out(data.ArrayLayout(TernaryCode, lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        if self.weight_format == "i2":
            for n in range(self.lanes):
                code = self.word[2 * n:2 * n + 2]
                m.d.comb += [
                    self.codes[n].nz.eq(~code[0]),
                    self.codes[n].neg.eq(code == 0),
                ]
        else:
            table = Array(Const(sum(_code_bits(d) << (2 * j) for j, d in enumerate(t5_digits(b))),
                                10)
                          for b in range(256))
            for byte_index in range((self.lanes + 4) // 5):
                byte = self.word[8 * byte_index:8 * byte_index + 8]
                decoded = Signal(10, name=f"t5_byte{byte_index}")
                m.d.comb += decoded.eq(table[byte])
                for j in range(5):
                    n = 5 * byte_index + j
                    if n < self.lanes:
                        m.d.comb += self.codes[n].as_value().eq(decoded[2 * j:2 * j + 2])
        return m
