"""cocotb bench of one ternary PE: random operands and weights, checked cycle by cycle against
an integer model of ``psum_out = psum_in + w * x`` one cycle later.

The model below is deliberately plain Python integers, written from the PE's specification
(docstring of :class:`rtl.pe.TernaryPE`), not from its implementation.
"""

import pytest

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from .bench import bench_config, bench_rng, run_bench, start_clock


CONFIGS = {"a8-i9-o10": (8, 9, 10), "a8-top-o9": (8, 0, 9), "a4-i6-o7": (4, 6, 7)}
CODE = {-1: 0b11, 0: 0b00, 1: 0b01}    # TernaryCode: nz in bit 0, neg in bit 1


def _signed(value, bits):
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


@cocotb.test()
async def random_operation(dut):
    act_bits, in_bits, out_bits = bench_config()
    start_clock(dut)
    np_rng, rng = bench_rng(dut, "pe")
    dut.rst.value = 0
    lo, hi = -(1 << (act_bits - 1)), (1 << (act_bits - 1)) - 1
    # Extreme values first, then random ones.
    psum_lo = -((1 << (in_bits - 1)) - (1 << (act_bits - 1))) if in_bits else 0
    psum_hi = (1 << (in_bits - 1)) - 1 - (1 << (act_bits - 1)) if in_bits else 0
    for cycle in range(600):
        x = rng.choice([lo, hi, 0, -1]) if cycle < 40 else rng.randint(lo, hi)
        psum = rng.choice([psum_lo, psum_hi, 0]) if cycle < 40 else rng.randint(psum_lo, psum_hi)
        weight = rng.choice([-1, 0, 1])
        await FallingEdge(dut.clk)
        dut.x_in.value = x & ((1 << act_bits) - 1)
        if in_bits:
            dut.psum_in.value = psum & ((1 << in_bits) - 1)
        dut.code.value = CODE[weight]
        await RisingEdge(dut.clk)
        expected = (psum if in_bits else 0) + weight * x
        await ReadOnly()
        got = _signed(dut.psum_out.value.to_unsigned(), out_bits)
        assert got == expected, f"cycle {cycle}: PE gave {got}, expected {expected}"


#: A hand-worked sequence for 8-bit activations: ``(x, psum_in, weight)`` and the ``psum_out``
#: written out by hand for a PE with a partial-sum input (9 bits) and for a top-row PE (no
#: input, so psum_in is unused).
HAND_STEPS = [
    (-128, 255, 1),         # 255 - 128 = 127;      top row: -128
    (-128, -256, -1),       # -256 + 128 = -128;    top row: 128
    (127, 0, -1),           # -127;                 top row: -127
    (127, 7, 0),            # 7;                    top row: 0
    (-5, -3, 0),            # -3;                   top row: 0
    (-5, -3, 1),            # -8;                   top row: -5
]
HAND_EXPECTED = {True: [127, -128, -127, 7, -3, -8], False: [-128, 128, -127, 0, 0, -5]}


@cocotb.test()
async def hand_worked_sequence(dut):
    """The sequence above, checked against the values worked out by hand (8-bit PEs only)."""
    act_bits, in_bits, out_bits = bench_config()
    if act_bits != 8:
        return
    start_clock(dut)
    dut.rst.value = 0
    outputs = []
    for x, psum, weight in HAND_STEPS:
        await FallingEdge(dut.clk)
        dut.x_in.value = x & 0xFF
        if in_bits:
            dut.psum_in.value = psum & ((1 << in_bits) - 1)
        dut.code.value = CODE[weight]
        await RisingEdge(dut.clk)
        await ReadOnly()
        outputs.append(_signed(dut.psum_out.value.to_unsigned(), out_bits))
    assert outputs == HAND_EXPECTED[bool(in_bits)], f"PE gave {outputs}"


@pytest.mark.parametrize("label", list(CONFIGS))
def test_pe(label):
    from gen.emit import emit_module
    from rtl.pe import TernaryPE
    act_bits, in_bits, out_bits = CONFIGS[label]
    verilog = emit_module(TernaryPE(act_bits=act_bits, psum_in_bits=in_bits,
                                    psum_out_bits=out_bits), "pe_bench")
    run_bench(kind="pe", key=label, verilog=verilog, toplevel="pe_bench",
              module="cosim.test_pe", config=[act_bits, in_bits, out_bits], name=label)
