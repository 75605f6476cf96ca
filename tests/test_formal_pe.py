"""Formal proofs of the ternary PE (rtl/pe.py): unbounded (k-induction), from any power-up
state.

* ``psum_out = psum_in + w * x_in`` one cycle later, for every activation, partial sum and
  weight code, where ``w`` is the weight the docstring's double buffer selects: ``load`` writes
  ``code`` into the shadow register, an activation with ``swap_in`` high uses the shadow
  weight (the old one when ``load`` comes in the same cycle), which stays active from then on.
  The expectation is the harness's own multiplication by -1/0/+1 of an independent model of
  the two weight registers, not the PE's inverted-operand-plus-carry trick.
* ``x_out`` and ``swap_out`` are ``x_in`` and ``swap_in`` one cycle later.
* The PE's netlist holds exactly one adder and no subtractor, multiplier or negation.

The PE's registers have no reset and no meaningful initial value, so the harness removes their
initial values (the proof holds whatever they power up with) and asserts only once the model
knows the weight: after a ``load`` for the shadow, after a swap of a known shadow for the
active weight.
"""

import re

import pytest
from amaranth import *
from amaranth.asserts import AnySeq
from amaranth.back import rtlil
from amaranth.hdl import Assert, Cover

from formal_sby import elaborate_with_internals, prove, ternary_weight
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
        dut = TernaryPE(act_bits=act_bits, psum_in_bits=psum_in_bits,
                        psum_out_bits=psum_out_bits)
        m.submodules.dut, internal, _ = elaborate_with_internals(dut, platform)
        inputs = [dut.x_in, dut.swap_in, dut.load, dut.code.as_value()]
        if psum_in_bits:
            inputs.append(dut.psum_in)
        for port in inputs:
            m.d.comb += port.eq(AnySeq(len(port)))

        # Model of the double buffer (initial value 0 = unknown).
        shadow = Signal(2)
        active = Signal(2)
        shadow_known = Signal()
        active_known = Signal()
        with m.If(dut.swap_in):
            m.d.sync += [active.eq(shadow), active_known.eq(shadow_known)]
        with m.If(dut.load):
            m.d.sync += [shadow.eq(dut.code.as_value()), shadow_known.eq(1)]
        used = Signal(2)
        used_known = Signal()
        m.d.comb += [
            used.eq(Mux(dut.swap_in, shadow, active)),
            used_known.eq(Mux(dut.swap_in, shadow_known, active_known)),
        ]
        code = Signal(dut.code.shape())
        m.d.comb += code.as_value().eq(used)

        # The expectation of the next cycle, computed wide and then taken modulo the output.
        psum_in = dut.psum_in if psum_in_bits else C(0, signed(1))
        wide = Signal(signed(max(psum_in_bits, act_bits) + 4))
        m.d.comb += wide.eq(psum_in + ternary_weight(code) * dut.x_in)
        expected = Signal(signed(psum_out_bits))
        expected_valid = Signal()
        x_before = Signal(signed(act_bits))
        swap_before = Signal()
        history = Signal()
        m.d.sync += [
            expected.eq(wide[:psum_out_bits]),
            expected_valid.eq(used_known),
            x_before.eq(dut.x_in),
            swap_before.eq(dut.swap_in),
            history.eq(1),
        ]
        # Inductive invariant: a weight the model knows is the one the PE holds.
        with m.If(shadow_known):
            m.d.comb += Assert(internal["shadow"] == shadow)
        with m.If(active_known):
            m.d.comb += Assert(internal["active"] == active)
        with m.If(expected_valid):
            m.d.comb += Assert(dut.psum_out == expected)
        with m.If(history):
            m.d.comb += [
                Assert(dut.x_out == x_before),
                Assert(dut.swap_out == swap_before),
            ]
        # The proof is not vacuous: a checked product of a known weight happens.
        m.d.comb += Cover(expected_valid & (expected != 0))
        return m


@pytest.mark.parametrize("widths", WIDTHS, ids=lambda w: "x%d_in%d_out%d" % w)
def test_pe_computes_psum_plus_weight_times_activation(widths):
    prove(PEProperties(*widths), "pe_%d_%d_%d" % widths, mode="prove", depth=4,
          script=["flatten", "setattr -unset init w:dut.*"])


def test_pe_property_is_reachable():
    prove(PEProperties(8, 9, 10), "pe_cover", mode="cover", depth=4)


@pytest.mark.parametrize("widths", WIDTHS, ids=lambda w: "x%d_in%d_out%d" % w)
def test_pe_has_one_adder(widths):
    act_bits, psum_in_bits, psum_out_bits = widths
    pe = TernaryPE(act_bits=act_bits, psum_in_bits=psum_in_bits, psum_out_bits=psum_out_bits)
    text = rtlil.convert(pe, name="pe", emit_src=False)
    cells = re.findall(r"^\s*cell \\?\$(\w+) ", text, flags=re.M)
    assert cells.count("add") == 1, cells
    for arithmetic in ("sub", "mul", "neg", "alu", "macc"):
        assert arithmetic not in cells, cells
