"""cocotb bench of the bare systolic array: the testbench itself plays the sequencer, feeding
skewed activations and skewed weight loads for a series of tiles, with random gaps between
tiles (garbage activations on idle lanes, which the array must keep out of the real sums), and
checks every column sum against ``golden.int_gemm``.

Timing contract under test (``rtl.array.SystolicArray``), in cycles (the array never stalls): tile ``j`` loads
array row ``r`` of column ``n`` at ``S_j + r + n``; activation row ``m`` enters array row ``k`` at
``t_j + m + k`` with ``swap`` on ``m = 0``; the sum ``Y_j[m, n]`` appears on ``psum[n]`` after
``t_j + m + (rows - 1) + n``. Tiles overlap as tightly as the double buffer allows:
``S_j >= t_{j-1}``, ``S_j >= S_{j-1} + rows``, ``t_j > S_j``, ``t_j >= t_{j-1} + M_{j-1}``.
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


def _schedule(tiles, rows, rng, gaps):
    """Start cycles ``(S_j, t_j)`` of each tile, packed as tightly as the contract allows, plus
    random gaps when ``gaps``."""
    starts = []
    for j, (_, x) in enumerate(tiles):
        if j == 0:
            load = 0
        else:
            prev_load, prev_act = starts[-1]
            load = max(prev_act, prev_load + rows)
        load += rng.randint(0, 3) if gaps else 0
        act = load + 1 + (rng.randint(0, 3) if gaps else 0)
        if j:
            act = max(act, starts[-1][1] + len(tiles[j - 1][1]))
        starts.append((load, act))
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
    row_bits = max(1, (rows - 1).bit_length())
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
    starts = _schedule(tiles, rows, rng, gaps)
    expected = [golden.int_gemm(x, w) for w, x in tiles]
    total = starts[-1][1] + len(tiles[-1][1]) + rows + cols + 2   # last sum + margin

    dut.rst.value = 0
    checked = 0
    for cycle in range(total):
        await FallingEdge(dut.clk)
        # Idle lanes carry garbage activations (no swap); idle columns garbage codes and rows
        # (no load_valid).
        x_lanes = [rng.randint(lo, hi) for _ in range(rows)]
        swaps = [0] * rows
        for (load, act), (w, x) in zip(starts, tiles):
            for k in range(rows):
                m = cycle - act - k
                if 0 <= m < len(x):
                    x_lanes[k], swaps[k] = x[m, k], int(m == 0)
        codes = [rng.choice(list(CODE.values())) for _ in range(cols)]
        load_rows = [rng.getrandbits(row_bits) for _ in range(cols)]
        load_valid = [0] * cols
        for (load, act), (w, x) in zip(starts, tiles):
            for n in range(cols):
                r = cycle - load - n
                if 0 <= r < rows:
                    codes[n], load_rows[n], load_valid[n] = CODE[int(w[n, r])], r, 1
        dut.x.value = _pack(x_lanes, a)
        dut.swap.value = _pack(swaps, 1)
        dut.code.value = _pack(codes, 2)
        dut.load_row.value = _pack(load_rows, row_bits)
        dut.load_valid.value = _pack(load_valid, 1)
        await RisingEdge(dut.clk)
        await ReadOnly()
        word = dut.psum.value.to_unsigned()
        psums = [_signed((word >> (n * cfg.column_bits)) & ((1 << cfg.column_bits) - 1),
                         cfg.column_bits) for n in range(cols)]
        for (load, act), (w, x), y in zip(starts, tiles, expected):
            for n in range(cols):
                m = cycle - act - (rows - 1) - n
                if 0 <= m < len(x):
                    assert psums[n] == y[m, n], \
                        f"tile {starts.index((load, act))} Y[{m}, {n}]: array {psums[n]}, golden {y[m, n]}"
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
