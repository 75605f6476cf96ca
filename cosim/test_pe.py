"""cocotb bench of one ternary PE: random operands, weight loads and swaps, checked cycle by
cycle against an integer model of ``psum_out = psum_in + w * x`` with double-buffered weights.

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


async def _prime_weights(dut, in_bits):
    """Prime both weight registers to +1: load +1 into the shadow, then swap it in."""
    await FallingEdge(dut.clk)
    dut.load.value, dut.swap_in.value, dut.code.value, dut.x_in.value = 1, 0, CODE[1], 0
    if in_bits:
        dut.psum_in.value = 0
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.load.value, dut.swap_in.value = 0, 1
    await RisingEdge(dut.clk)


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
    await _prime_weights(dut, in_bits)
    shadow = active = 1
    for cycle in range(600):
        x = rng.choice([lo, hi, 0, -1]) if cycle < 40 else rng.randint(lo, hi)
        psum = rng.choice([psum_lo, psum_hi, 0]) if cycle < 40 else rng.randint(psum_lo, psum_hi)
        swap = rng.random() < 0.3
        load = rng.random() < 0.5
        weight = rng.choice([-1, 0, 1])
        await FallingEdge(dut.clk)
        dut.x_in.value = x & ((1 << act_bits) - 1)
        if in_bits:
            dut.psum_in.value = psum & ((1 << in_bits) - 1)
        dut.swap_in.value = swap
        dut.load.value = load
        dut.code.value = CODE[weight]
        await RisingEdge(dut.clk)
        used = shadow if swap else active
        expected = ((psum if in_bits else 0) + used * x, x, int(swap))
        if swap:
            active = shadow
        if load:
            shadow = weight
        await ReadOnly()
        got = (_signed(dut.psum_out.value.to_unsigned(), out_bits),
               _signed(dut.x_out.value.to_unsigned(), act_bits), int(dut.swap_out.value))
        assert got == expected, f"cycle {cycle}: PE gave {got}, expected {expected}"


#: A hand-worked sequence for 8-bit activations after both weights are primed to +1:
#: ``(x, psum_in, swap, load weight or None)`` and the ``psum_out`` written out by hand for a PE
#: with a partial-sum input (9 bits) and for a top-row PE (no input, so psum_in is unused).
HAND_STEPS = [
    (-128, 255, 0, -1),     # active +1: 255 - 128 = 127;      top row: -128;  shadow <- -1
    (-128, -256, 1, None),  # swap, active -1: -256 + 128 = -128; top row: 128
    (127, 0, 0, 0),         # active -1: -127;                  top row: -127;  shadow <- 0
    (127, 7, 1, None),      # swap, active 0: 7;                top row: 0
    (-5, -3, 0, 1),         # active 0: -3;                     top row: 0;     shadow <- +1
    (-5, -3, 1, None),      # swap, active +1: -8;              top row: -5
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
    await _prime_weights(dut, in_bits)
    outputs = []
    for x, psum, swap, weight in HAND_STEPS:
        await FallingEdge(dut.clk)
        dut.x_in.value = x & 0xFF
        if in_bits:
            dut.psum_in.value = psum & ((1 << in_bits) - 1)
        dut.swap_in.value = swap
        dut.load.value = weight is not None
        dut.code.value = CODE[weight if weight is not None else 0]
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
