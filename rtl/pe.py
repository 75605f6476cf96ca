"""The ternary processing element: one weight, one adder, no multiplier."""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .checks import check_integer


__all__ = ["TernaryCode", "TernaryPE", "pe_signature", "psum_from_above", "register_psum",
           "check_pe_widths"]


class TernaryCode(data.Struct):
    """A decoded ternary weight as the array stores it: ``nz`` (non-zero) and ``neg``.

    ========  ====  =====
    weight    nz    neg
    ========  ====  =====
    -1        1     1
     0        0     0
    +1        1     0
    ========  ====  =====
    """
    nz: 1
    neg: 1


def check_pe_widths(act_bits, psum_in_bits, psum_out_bits, product_bits):
    """Check a PE's widths: ``act_bits`` at least 2, ``psum_in_bits`` 0 (top row) or more, and
    ``psum_out_bits`` wide enough that neither addend of ``psum_in + product`` is truncated:
    at least ``psum_in_bits`` and ``product_bits``.

    That is what a PE can know. The array gives each row the exact width of the largest sum
    that reaches it (:func:`rtl.config.psum_width` of the products above and in the row), which
    may equal ``psum_in_bits`` (row 2 of an 8-bit array: 256 needs 10 bits, 384 too)."""
    check_integer("act_bits", act_bits, 2)
    check_integer("psum_in_bits", psum_in_bits, 0)
    check_integer("psum_out_bits", psum_out_bits, 1)
    needed = max(psum_in_bits, product_bits)
    if psum_out_bits < needed:
        raise ValueError(f"psum_out_bits must be at least {needed} to hold psum_in "
                         f"({psum_in_bits} bits) plus a product ({product_bits} bits), "
                         f"not {psum_out_bits}")


def pe_signature(act_bits, psum_in_bits, psum_out_bits, code_shape):
    """The ports of a PE (:class:`TernaryPE`, the int8 baseline's
    :class:`~rtl.pe_int8.Int8PE`): the activation, the weight that multiplies it this cycle,
    and ``psum_in`` only below the top row (``psum_in_bits > 0``)."""
    members = {
        "x_in": In(signed(act_bits)),
        "code": In(code_shape),
        "psum_out": Out(signed(psum_out_bits)),
    }
    if psum_in_bits:
        members["psum_in"] = In(signed(psum_in_bits))
    return members


def psum_from_above(pe):
    """The partial sum entering ``pe``: ``psum_in``, or 0 in the top row."""
    return pe.psum_in if pe.psum_in_bits else C(0, 1)


def register_psum(m, pe, psum):
    """The PE's one register: ``psum`` passed down on ``psum_out`` a cycle later."""
    psum_reg = Signal(signed(pe.psum_out_bits), reset_less=True)
    m.d.sync += psum_reg.eq(psum)
    m.d.comb += pe.psum_out.eq(psum_reg)


class TernaryPE(wiring.Component):
    """A weight-stationary ternary multiply-accumulate cell.

    Computes ``psum_out <= psum_in + w * x_in`` with ``w`` in {-1, 0, +1} (``code``) using one
    adder: the activation is conditionally inverted and the adder's carry-in supplies the
    ``+1`` of the two's-complement negation; a zero weight adds nothing.

    The weight is held outside the PE, in the output register of its row's bank of the weight
    store (:class:`~rtl.weight_store.WeightStore`), which changes only when a new tile reaches
    the row; the activation is broadcast to every PE of the row.

    The PE never stalls: every register advances every cycle, and a cycle without an activation
    simply carries a value nobody reads. No register is reset, because only the accelerator's
    control path decides which values are meaningful.

    Parameters
    ----------
    act_bits : int
        Signed activation width.
    psum_in_bits : int
        Width of the partial sum from above; 0 for the top row, which has no ``psum_in``.
    psum_out_bits : int
        Width of the partial sum passed down: at least ``psum_in_bits`` and at least
        ``act_bits + 1`` (one product, ``-2**(act_bits-1) * -1``); the array gives each row
        :func:`rtl.config.psum_width` of its products.

    Raises
    ------
    TypeError
        A width that is not an integer.
    ValueError
        ``act_bits`` below 2, ``psum_in_bits`` below 0, or ``psum_out_bits`` too narrow
        (:func:`check_pe_widths`).

    Attributes
    ----------
    latency : int
        1: cycles from ``x_in``, ``code`` and ``psum_in`` to ``psum_out``.
    """

    latency = 1

    def __init__(self, *, act_bits, psum_in_bits, psum_out_bits):
        check_pe_widths(act_bits, psum_in_bits, psum_out_bits, act_bits + 1)
        self.act_bits = act_bits
        self.psum_in_bits = psum_in_bits
        self.psum_out_bits = psum_out_bits
        super().__init__(pe_signature(act_bits, psum_in_bits, psum_out_bits, TernaryCode))

    def elaborate(self, platform):
        m = Module()
        width = self.psum_out_bits

        weight = self.code

        # One adder with a carry-in: {psum, 1} + {x ^ neg, neg} keeps the +1 of the negation
        # in the adder's carry chain instead of a second add.
        negate = Signal()
        operand = Signal(width)
        m.d.comb += [
            negate.eq(weight.nz & weight.neg),
            operand.eq(Mux(weight.nz, self.x_in.as_signed() ^ negate.replicate(width), 0)),
        ]
        psum_in = psum_from_above(self)
        psum_ext = Signal(signed(width))
        m.d.comb += psum_ext.eq(psum_in)
        total = Signal(width + 1)
        m.d.comb += total.eq(Cat(C(1, 1), psum_ext) + Cat(negate, operand))

        register_psum(m, self, total[1:])
        return m
