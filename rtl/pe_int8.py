"""The int8 baseline: a conventional int8 x int8 multiply-accumulate PE, and the weight word
unpacker that feeds it.

They exist to compare the ternary PE against what an ordinary int8 accelerator would build
with the same array, dataflow and flow (``python -m gen --pe int8``, ``docs/synthesis.md``);
the accelerator itself uses :class:`~rtl.pe.TernaryPE`.
"""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .checks import check_integer
from .pe import check_pe_widths, pe_signature, psum_from_above, register_psum


__all__ = ["Int8PE", "Int8WeightLanes"]


class Int8PE(wiring.Component):
    """A multiply-accumulate cell: ``psum_out <= psum_in + w * x_in`` with ``w`` (``code``) a
    signed ``weight_bits`` integer, computed by a multiplier and an adder.

    The same ports and timing as :class:`~rtl.pe.TernaryPE`, except that ``code`` is the
    signed weight itself. The register advances every cycle (no stall) and is not reset.

    The product is written as a plain ``*`` so that a synthesis tool may map it to a DSP block
    (or, when told not to, to LUTs): it is the conventional PE the ternary one replaces.

    Parameters
    ----------
    act_bits : int
        Signed activation width.
    psum_in_bits : int
        Width of the partial sum from above; 0 for the top row, which has no ``psum_in``.
    psum_out_bits : int
        Width of the partial sum passed down.
    weight_bits : int
        Signed weight width (8), at least 2.

    Raises ``TypeError`` or ``ValueError`` as :class:`~rtl.pe.TernaryPE` does, the product
    being ``act_bits + weight_bits`` bits wide.

    Attributes
    ----------
    latency : int
        1: cycles from ``x_in``, ``code`` and ``psum_in`` to ``psum_out``.
    """

    latency = 1

    def __init__(self, *, act_bits, psum_in_bits, psum_out_bits, weight_bits=8):
        check_integer("weight_bits", weight_bits, 2)
        check_pe_widths(act_bits, psum_in_bits, psum_out_bits, act_bits + weight_bits)
        self.act_bits = act_bits
        self.psum_in_bits = psum_in_bits
        self.psum_out_bits = psum_out_bits
        self.weight_bits = weight_bits
        super().__init__(pe_signature(act_bits, psum_in_bits, psum_out_bits, signed(weight_bits)))

    def elaborate(self, platform):
        m = Module()
        weight = self.code
        psum_in = psum_from_above(self)
        total = Signal(signed(self.psum_out_bits))
        m.d.comb += total.eq(psum_in + weight * self.x_in)
        register_psum(m, self, total)
        return m


class Int8WeightLanes(wiring.Component):
    """The int8 baseline's counterpart of :class:`~rtl.decoder.WeightDecoder`: a weight word
    is ``lanes`` signed ``weight_bits`` integers, lane ``n`` in bits
    ``[weight_bits*n + weight_bits-1 : weight_bits*n]``, passed through unchanged.

    Parameters (keyword only)
    -------------------------
    lanes : int
        Weights per word, at least 1.
    weight_bits : int
        Signed weight width (8), at least 2.

    Attributes
    ----------
    latency : int
        0: wires.
    """

    latency = 0

    def __init__(self, *, lanes, weight_bits=8):
        self.lanes = check_integer("lanes", lanes, 1)
        self.weight_bits = check_integer("weight_bits", weight_bits, 2)
        super().__init__({
            "word": In(lanes * weight_bits),
            "codes": Out(data.ArrayLayout(signed(weight_bits), lanes)),
        })

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.codes.as_value().eq(self.word)
        return m
