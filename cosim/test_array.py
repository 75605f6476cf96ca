"""cocotb bench of the bare array: the testbench itself plays the weight store and the
sequencer, feeding skewed activations and skewed weight rows for a series of tiles, with random
gaps between tiles (garbage activations and weights where no real row is, which the array must
keep out of the real sums), and checks every column sum against ``golden.int_gemm``.

Timing contract under test (``rtl.array.SystolicArray``), in cycles (the array never stalls):
activation row ``m`` of tile ``j`` enters array row ``k`` at ``t_j + m + k``, broadcast to every
column; array row ``k`` multiplies by tile ``j``'s weights ``weights[k][n] = W_j[n, k]`` from
``t_j + k`` until the next tile reaches it; the sum ``Y_j[m, n]`` appears on ``psum[n]`` after
``t_j + m + rows - 1``, every column in the same cycle. Tiles follow each other as tightly as
their rows allow: ``t_j >= t_{j-1} + M_{j-1}``.
"""

import numpy as np
import pytest

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

import golden
from rtl.config import AccelConfig

from .bench import bench_config, bench_rng, run_bench, start_clock


CONFIGS = {"3x4": AccelConfig(rows=3, cols=4), "1x5": AccelConfig(rows=1, cols=5),
           "6x1": AccelConfig(rows=6, cols=1), "5x7": AccelConfig(rows=5, cols=7, act_bits=6)}
CODE = {-1: 0b11, 0: 0b00, 1: 0b01}


def _schedule(tiles, rng, gaps):
    """Start cycle ``t_j`` of each tile, packed as tightly as the contract allows, plus random
    gaps when ``gaps``."""
    starts = []
    for j, (_, x) in enumerate(tiles):
        start = starts[-1] + len(tiles[j - 1][1]) if j else 1
        starts.append(start + (rng.randint(0, 3) if gaps else 0))
    return starts


def _pack(values, bits):
    word = 0
    for lane, value in enumerate(values):
        word |= (int(value) & ((1 << bits) - 1)) << (lane * bits)
    return word


def _signed(value, bits):
    return value - (1 << bits) if value >> (bits - 1) else value


@cocotb.test()
@cocotb.parametrize(gaps=[False, True])
async def tiles_back_to_back(dut, gaps):
    cfg = AccelConfig(**bench_config())
    rows, cols, a = cfg.rows, cfg.cols, cfg.act_bits
    start_clock(dut)
    np_rng, rng = bench_rng(dut, f"array gaps={gaps}")
    lo, hi = -(1 << (a - 1)), (1 << (a - 1)) - 1
    tiles = []
    for j in range(6):
        m = [1, rows, 2 * rows + 1, 1, 3, rows + 2][j]
        if j == 0:   # extremes: the largest sums of both signs
            x = np.full((m, rows), lo)
            w = np.full((cols, rows), -1)
        else:
            x = np_rng.integers(lo, hi + 1, size=(m, rows))
            w = np_rng.integers(-1, 2, size=(cols, rows))
        tiles.append((w, x))
    starts = _schedule(tiles, rng, gaps)
    expected = [golden.int_gemm(x, w) for w, x in tiles]
    total = starts[-1] + len(tiles[-1][1]) + rows + 2   # last sum + margin

    dut.rst.value = 0
    checked = 0
    for cycle in range(total):
        await FallingEdge(dut.clk)
        # Idle lanes carry garbage activations; between tiles row k keeps garbage weights
        # until the first tile reaches it.
        x_lanes = [rng.randint(lo, hi) for _ in range(rows)]
        codes = [[rng.choice(list(CODE.values())) for _ in range(cols)] for _ in range(rows)]
        for start, (w, x) in zip(starts, tiles):
            for k in range(rows):
                m = cycle - start - k
                if m >= 0:
                    codes[k] = [CODE[int(w[n, k])] for n in range(cols)]
                if 0 <= m < len(x):
                    x_lanes[k] = x[m, k]
        dut.x.value = _pack(x_lanes, a)
        dut.weights.value = _pack([code for row in codes for code in row], 2)
        await RisingEdge(dut.clk)
        await ReadOnly()
        word = dut.psum.value.to_unsigned()
        psums = [_signed((word >> (n * cfg.column_bits)) & ((1 << cfg.column_bits) - 1),
                         cfg.column_bits) for n in range(cols)]
        for j, (start, (w, x), y) in enumerate(zip(starts, tiles, expected)):
            m = cycle - start - (rows - 1)
            if 0 <= m < len(x):
                for n in range(cols):
                    assert psums[n] == y[m, n], \
                        f"tile {j} Y[{m}, {n}]: array {psums[n]}, golden {y[m, n]}"
                    checked += 1
    assert checked == sum(y.size for y in expected)
    dut._log.info("checked %d column sums over %d tiles", checked, len(tiles))


@pytest.mark.parametrize("label", list(CONFIGS))
def test_array(label):
    from gen.emit import emit_array_verilog
    config = CONFIGS[label]
    run_bench(kind="array", key=config.digest, verilog=emit_array_verilog(config, "array_bench"),
              toplevel="array_bench", module="cosim.test_array", config=config.as_dict(),
              name=label)
