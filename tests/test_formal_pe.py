"""Formal proofs of the ternary PE (rtl/pe.py): unbounded (k-induction), from any power-up
state.

* ``psum_out = psum_in + w * x_in`` one cycle later, for every activation, partial sum and
  weight code (``code``, the weight the PE's row multiplies this cycle; the PE stores no
  weight of its own: it is the read register of its row's bank in the weight store). The
  expectation is the harness's own multiplication by -1/0/+1 of the code's table
  (:func:`formal_sby.ternary_weight`), not the PE's inverted-operand-plus-carry trick, taken
  modulo ``2**psum_out_bits`` (exact whenever the sum fits, which the array's widths
  guarantee).
* The PE's netlist holds exactly one adder and no subtractor, multiplier or negation.

The PE's one register has no reset and no meaningful initial value, so the harness removes its
initial value (the proof holds whatever it powers up with) and asserts from the second cycle
on, once the register holds a sum the harness has seen computed.
"""

import re

import pytest
from amaranth import *
from amaranth.asserts import AnySeq
from amaranth.back import rtlil
from amaranth.hdl import Assert, Cover

from formal_sby import prove, ternary_weight
from rtl.pe import TernaryPE

#: (act_bits, psum_in_bits, psum_out_bits): the top row (no psum_in), a row whose sum needs
#: one more bit, a row whose sum fits its input width (as rtl.config.psum_width gives), and
#: the narrowest activation.
WIDTHS = [(8, 0, 9), (8, 9, 10), (8, 12, 12), (2, 3, 4)]


class PEProperties(Elaboratable):
    def __init__(self, act_bits, psum_in_bits, psum_out_bits):
        self.widths = (act_bits, psum_in_bits, psum_out_bits)

    def elaborate(self, platform):
        act_bits, psum_in_bits, psum_out_bits = self.widths
        m = Module()
        m.submodules.dut = dut = TernaryPE(act_bits=act_bits, psum_in_bits=psum_in_bits,
                                           psum_out_bits=psum_out_bits)
        inputs = [dut.x_in, dut.code.as_value()]
        if psum_in_bits:
            inputs.append(dut.psum_in)
        for port in inputs:
            m.d.comb += port.eq(AnySeq(len(port)))

        # The expectation of the next cycle, computed wide and then taken modulo the output.
        psum_in = dut.psum_in if psum_in_bits else C(0, signed(1))
        wide = Signal(signed(max(psum_in_bits, act_bits) + 4))
        m.d.comb += wide.eq(psum_in + ternary_weight(dut.code) * dut.x_in)
        expected = Signal(signed(psum_out_bits))
        history = Signal()
        m.d.sync += [expected.eq(wide[:psum_out_bits]), history.eq(1)]
        with m.If(history):
            m.d.comb += Assert(dut.psum_out == expected)
        # The proof is not vacuous: a checked non-zero product happens.
        m.d.comb += Cover(history & (expected != 0))
        return m


@pytest.mark.parametrize("widths", WIDTHS, ids=lambda w: "x%d_in%d_out%d" % w)
def test_pe_computes_psum_plus_weight_times_activation(widths):
    prove(PEProperties(*widths), "pe_%d_%d_%d" % widths, mode="prove", depth=2,
          script=["flatten", "setattr -unset init w:dut.*"])


def test_pe_property_is_reachable():
    prove(PEProperties(8, 9, 10), "pe_cover", mode="cover", depth=3)


@pytest.mark.parametrize("widths", WIDTHS, ids=lambda w: "x%d_in%d_out%d" % w)
def test_pe_has_one_adder(widths):
    act_bits, psum_in_bits, psum_out_bits = widths
    pe = TernaryPE(act_bits=act_bits, psum_in_bits=psum_in_bits, psum_out_bits=psum_out_bits)
    text = rtlil.convert(pe, name="pe", emit_src=False)
    cells = re.findall(r"^\s*cell \\?\$(\w+) ", text, flags=re.M)
    assert cells.count("add") == 1, cells
    for arithmetic in ("sub", "mul", "neg", "alu", "macc"):
        assert arithmetic not in cells, cells
