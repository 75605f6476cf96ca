"""Formal proof of the weight decoder (rtl/decoder.py) against golden's unpackers.

For every word of one lane group (``i2``: 4 lanes in one byte; ``t5``: 5 lanes in one byte)
and of a partial group (3 lanes), the decoder's codes are golden's trits
(:meth:`golden.formats.WeightFormat.unwords`, the numeric contract). Words golden refuses
decode as the decoder's docstring says: an ``i2`` lane holding the invalid code 3 is a zero
weight (the other lanes as golden reads them), and a ``t5`` byte above 242 is five zero
weights. In a partial group the lanes past ``lanes`` are padding: golden refuses a word whose
padding is not zero weights, the decoder does not read it (its lanes are golden's reading of
the same word with zero-weight padding).

The expectation is a table of every word value computed here by golden (at most 256
entries); the solver checks the decoder's logic against it for a symbolic word, so the proof
covers all words at once. The decoder is combinational, so one step of k-induction is a
complete proof.
"""

import numpy as np
import pytest
from amaranth import *
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert

from formal_sby import prove, ternary_weight
from golden.formats import FORMATS
from rtl.decoder import WeightDecoder

#: (format, lanes): one full lane group and one partial group of each ternary format.
CASES = [("i2", 4), ("i2", 3), ("t5", 5), ("t5", 3)]

I2_INVALID = 3
I2_ZERO = 1
T5_LARGEST_BYTE = 3 ** 5 - 1
T5_ZERO_DIGIT = 1


def golden_trits(weight_format, lanes, word):
    """The trits of ``word`` (one lane group) by golden; for a word golden refuses, the
    decoder's documented reading (an invalid ``i2`` code is a zero weight, an invalid ``t5``
    byte five zeros, padding lanes of a partial group are ignored)."""
    fmt = FORMATS[weight_format]
    if weight_format == "i2":
        codes = [(word >> (2 * lane)) & 3 for lane in range(lanes)]
        word = sum((I2_ZERO if code == I2_INVALID else code) << (2 * lane)
                   for lane, code in enumerate(codes))
        return [int(t) for t in fmt.unwords([word], lanes)[0]]
    if word > T5_LARGEST_BYTE:
        return [0] * lanes
    # Padding digits past ``lanes`` (golden refuses them unless they are zero weights) are
    # not read by the decoder: golden reads the same word with zero-weight padding.
    digits = [(word // 3 ** j) % 3 for j in range(5)]
    digits[lanes:] = [T5_ZERO_DIGIT] * (5 - lanes)
    word = sum(digit * 3 ** j for j, digit in enumerate(digits))
    return [int(t) for t in fmt.unwords([word], lanes)[0]]



class DecoderProperties(Elaboratable):
    def __init__(self, weight_format, lanes):
        self.weight_format = weight_format
        self.lanes = lanes

    def elaborate(self, platform):
        m = Module()
        fmt = FORMATS[self.weight_format]
        word_bits = fmt.word_bits(self.lanes)
        m.submodules.dut = dut = WeightDecoder(weight_format=self.weight_format,
                                               lanes=self.lanes, word_bits=word_bits)
        m.d.comb += dut.word.eq(AnySeq(word_bits))
        table = [golden_trits(self.weight_format, self.lanes, word)
                 for word in range(1 << word_bits)]
        # One table entry per word: the lanes' trits as signed 2-bit fields.
        expected = Signal(2 * self.lanes)
        m.d.comb += expected.eq(Array(
            C(sum((trit & 3) << (2 * lane) for lane, trit in enumerate(trits)), 2 * self.lanes)
            for trits in table)[dut.word])
        for lane in range(self.lanes):
            m.d.comb += Assert(ternary_weight(dut.codes[lane])
                               == expected[2 * lane:2 * lane + 2].as_signed())
        return m


def test_golden_table_has_every_trit_and_refused_words():
    """The expectation is not vacuous: every trit appears in every lane, and golden refuses
    some words of each format (which the decoder must read as documented)."""
    for weight_format, lanes in CASES:
        bits = FORMATS[weight_format].word_bits(lanes)
        table = np.array([golden_trits(weight_format, lanes, w) for w in range(1 << bits)])
        for lane in range(lanes):
            assert set(table[:, lane]) == {-1, 0, 1}
        refused = 0
        for word in range(1 << bits):
            try:
                FORMATS[weight_format].unwords([word], lanes)
            except ValueError:
                refused += 1
        assert refused > 0, (weight_format, lanes)


@pytest.mark.parametrize("weight_format, lanes", CASES)
def test_decoder_matches_golden_for_every_word(weight_format, lanes):
    prove(DecoderProperties(weight_format, lanes), f"decoder_{weight_format}_{lanes}",
          mode="prove", depth=1, solver="yices")
