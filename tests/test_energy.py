"""The energy model (docs/energy.md): the seed's 71.4x from its own 7 nm table, activity counts
worked by hand, the tables' interpolation, the 2B-4T shapes, and every argument error."""

import math
import pathlib

import numpy as np
import pytest

import golden
from gen.explore import energy as energy_cli
from gen.explore.activity import (Activity, GAUSSIAN_NONZERO_FRACTION, Memories,
                                  decode_activity, decode_jobs, gemm_activity, head_bits,
                                  kv_cache_bits, register_bits_per_cycle, token_activity,
                                  weights_nonzero_fraction)
from gen.explore.energy import energy
from gen.explore.energy_tables import TABLES, energy_table
from golden.config import BitNetConfig
from golden.synthetic import BITNET_2B_4T_CONFIG
from rtl.config import AccelConfig, ConfigError

MODEL = BitNetConfig.from_dict(BITNET_2B_4T_CONFIG)
SMALL = Memories(weight_bank=8 * 8192, accumulator=8 * 8192, result_queue=8 * 8192)


# -- the seed's headline ---------------------------------------------------------------------

def test_seed_arithmetic_ratio_from_its_7nm_table():
    """BitNet b1.58: an FP16 multiply (0.34 pJ) and add (0.16 pJ) against an INT8 add
    (0.007 pJ) per weight, 71.4x at 7 nm."""
    ternary = energy(Activity(pe="ternary", memories=SMALL, nonzero_adds=1000), "bitnet-7nm")
    fp16 = energy(Activity(pe="fp16", memories=SMALL, nonzero_adds=1000), "bitnet-7nm")
    ratio = fp16.arithmetic_j / ternary.arithmetic_j
    assert ratio == pytest.approx((0.16 + 0.34) / 0.007, rel=1e-12)
    assert round(ratio, 1) == 71.4
    assert ternary.arithmetic_j == pytest.approx(1000 * 0.007e-12, rel=1e-12)


def test_seed_ratio_on_a_job_with_every_weight_nonzero():
    # One K tile (no accumulator adds), N a multiple of the columns (no padding): the job's
    # arithmetic is an add per weight and row, against an FP16 multiply-add.
    accel = AccelConfig(rows=8, cols=4, weight_port_bits=64, max_k=64, max_n=64, acc_bits=16)
    w = np.ones((8, 8), dtype=np.int64)
    w[::2] = -1
    ternary = gemm_activity(accel, 3, 8, 8, nonzero_weights=w)
    fp16 = gemm_activity(accel, 3, 8, 8, pe="fp16", nonzero_weights=w)
    assert ternary.nonzero_adds == fp16.macs == 3 * 64 and ternary.accumulator_adds == 0
    for name, expected in (("bitnet-7nm", (0.16 + 0.34) / 0.007),
                           ("horowitz-45nm", (0.4 + 1.1) / 0.03)):
        ratio = energy(fp16, name).arithmetic_j / energy(ternary, name).arithmetic_j
        assert ratio == pytest.approx(expected, rel=1e-12)


# -- activity by hand ------------------------------------------------------------------------

def test_tiny_job_by_hand():
    """2x2 i2, one row per beat, M = 2, K = 3, N = 3: 2 x 2 tiles, the last ones padded."""
    accel = AccelConfig(rows=2, cols=2, max_k=64, max_n=64, acc_bits=16)
    w = np.array([[-1, 0, 1], [-1, 1, -1], [1, -1, -1]])      # 8 nonzero of 9
    a = gemm_activity(accel, 2, 3, 3, nonzero_weights=w)
    # tiles take 2 cycles (forwarding, spacing 1): max(2 + 3 * 2, 8) + M + R + 5
    assert a.cycles == 8 + 2 + 2 + 5 == 17
    # per cycle: input registers 2*2*8, skew 8*1, psums 2*(9+10), beat 1*2*2, accumulator
    # with forwarding 4*2*16
    assert register_bits_per_cycle(accel) == 32 + 8 + 38 + 4 + 128
    assert a.counts() == {
        "cycles": 17, "nonzero_adds": 2 * 8, "zero_skips": 2 * 4 * 4 - 16,
        "accumulator_adds": 2 * 1 * 2 * 2, "register_bits": 17 * 210,
        "weight_sram_read_bits": 4 * 2 * 2 * 2, "weight_sram_write_bits": 32,
        "accumulator_read_bits": 17 * 2 * 16, "accumulator_write_bits": 2 * 1 * 2 * 32,
        "result_queue_write_bits": 2 * 2 * 32, "result_queue_read_bits": 128,
        "dram_weight_bits": 8 * 4, "dram_activation_bits": 4 * 2 * 2 * 8,
        "dram_result_bits": 2 * 2 * 32, "dram_kv_bits": 0, "dram_head_bits": 0}
    # default store: 2 + ceil(3 / 2) = 4 slots of 2 codes; 256 rows of 2 sums; R + 7 = 9 rows
    assert a.memories == Memories(weight_bank=4 * 2 * 2, accumulator=256 * 2 * 16,
                                  result_queue=9 * 2 * 16)


def test_t5_port_padding_by_hand():
    # 4x3 t5, 16-bit port = 3 rows of 3 weights; K = 9, N = 7: 3 x 3 tiles, 36 rows in
    # 12 beats of 16 bits for 63 weights
    accel = AccelConfig(rows=4, cols=3, weight_format="t5", weight_port_bits=16, max_k=64,
                        max_n=64, acc_bits=16)
    a = gemm_activity(accel, 5, 9, 7, nonzero_fraction=1.0)
    assert a.dram_weight_bits == 12 * 16
    assert a.weight_sram_write_bits == 9 * 4 * 3 * 2       # decoded codes, 2 bits each
    assert (a.nonzero_adds, a.zero_skips) == (5 * 63, 5 * 9 * 12 - 5 * 63)


def test_references_on_the_same_port_by_hand():
    """An 8x4 i2 array with a whole tile per beat (64 bits): the int8 PE takes 2 rows per
    beat there, FP16 one; one tile, M = 1."""
    accel = AccelConfig(rows=8, cols=4, weight_port_bits=64, max_k=64, max_n=64, acc_bits=16)
    ternary = gemm_activity(accel, 1, 8, 4, nonzero_fraction=0.5)
    int8 = gemm_activity(accel, 1, 8, 4, pe="int8", nonzero_fraction=0.5)
    fp16 = gemm_activity(accel, 1, 8, 4, pe="fp16", nonzero_fraction=0.5)
    # max(ceil(8/k) + 0, ceil(8/k)) + M + R + 5
    assert (ternary.cycles, int8.cycles, fp16.cycles) == (1 + 14, 4 + 14, 8 + 14)
    assert (ternary.weight_sram_read_bits, int8.weight_sram_read_bits,
            fp16.weight_sram_read_bits) == (32 * 2, 32 * 8, 32 * 16)
    # 32 weights at 2, 8 and 16 bits: 1, 4 and 8 beats of 64 bits
    assert (ternary.dram_weight_bits, int8.dram_weight_bits, fp16.dram_weight_bits) == \
        (64, 4 * 64, 8 * 64)
    assert (int8.dram_activation_bits, fp16.dram_activation_bits) == (8 * 8, 8 * 16)
    # the int8 design needs 22-bit sums at max_k = 64 (64 * 128 * 128 = 2**20)
    assert (int8.dram_result_bits, fp16.dram_result_bits) == (4 * 22, 4 * 16)
    # the int8 design's partial sums: psum_width(r + 1, 8, 8) = 16 .. 19 bits
    psums = [16, 17, 17, 18, 18, 18, 18, 19]
    assert register_bits_per_cycle(accel, pe="int8") == \
        2 * 8 * 8 + 8 * 28 + 4 * sum(psums) + 2 * 4 * 8 + 2 * 4 * 22
    assert register_bits_per_cycle(accel, pe="fp16") == \
        2 * 8 * 16 + 16 * 28 + 4 * 8 * 16 + 1 * 4 * 16 + 2 * 4 * 16
    assert int8.macs == fp16.macs == ternary.macs == 32
    assert ternary.nonzero_adds == 16


def test_gaussian_zero_fraction_matches_golden_ternarization():
    """erf(1 / (2 sqrt(pi))) of absmean-ternarized Gaussian weights are zero (0.3101)."""
    seed = 161
    print(f"seed {seed}")
    latent = np.random.default_rng(seed).standard_normal((1000, 1000))
    wq, _ = golden.quantize_weights(latent)
    assert GAUSSIAN_NONZERO_FRACTION == pytest.approx(0.6899, abs=1e-4)
    assert weights_nonzero_fraction([wq]) == pytest.approx(GAUSSIAN_NONZERO_FRACTION,
                                                           abs=0.003)


def test_decode_step_of_2b_4t():
    jobs = decode_jobs(MODEL)
    assert len(jobs) == 210 and {m for m, _, _ in jobs} == {1}
    assert sum(k * n for _, k, n in jobs) == 2_084_044_800     # docs/performance.md
    # 76.8 KB of bf16 K and V per position (docs/performance.md), 1024 read and one written
    assert kv_cache_bits(MODEL, 1024) == 1025 * 76_800 * 8
    assert head_bits(MODEL) == 128256 * 2560 * 16
    accel = AccelConfig(rows=64, cols=64, weight_port_bits=1024)
    step = decode_activity(accel, MODEL, context=1024, batch=2, nonzero_fraction=0.5)
    jobs_only = token_activity(accel, decode_jobs(MODEL, batch=2), nonzero_fraction=0.5)
    assert step.dram_kv_bits == 2 * kv_cache_bits(MODEL, 1024)
    assert step.dram_head_bits == head_bits(MODEL)
    assert step.cycles == jobs_only.cycles == 4_085_100 + 210     # one more row per job
    assert step.nonzero_adds == 2 * 2_084_044_800 // 2
    # 2 bits per weight, no padding at these shapes
    assert step.dram_weight_bits == 2 * 2_084_044_800
    no_head = decode_activity(accel, MODEL, context=1, head_value_bits=0)
    assert no_head.dram_head_bits == 0


def test_activity_arithmetic():
    a = Activity(pe="ternary", memories=SMALL, cycles=3, nonzero_adds=5)
    b = Activity(pe="ternary", memories=SMALL, cycles=1, dram_kv_bits=7)
    total = a + 2 * b
    assert (total.cycles, total.nonzero_adds, total.dram_kv_bits) == (5, 5, 14)
    assert a * 0 == Activity(pe="ternary", memories=SMALL)
    with pytest.raises(ValueError, match=r"^cannot add the activity of int8 PEs with memories "
                                         r"Memories\(.*\) to that of ternary PEs with "
                                         r"Memories\(.*\)$"):
        a + Activity(pe="int8", memories=SMALL)
    with pytest.raises(ValueError, match=r"^an activity can be repeated a non-negative number "
                                         r"of times, not -1$"):
        a * -1
    with pytest.raises(TypeError):
        a * 1.5


# -- pricing ---------------------------------------------------------------------------------

def test_pricing_by_hand():
    a = Activity(pe="ternary", memories=SMALL, nonzero_adds=10, zero_skips=99,
                 accumulator_adds=2, register_bits=80, weight_sram_read_bits=64,
                 dram_weight_bits=64, dram_head_bits=128)
    split = energy(a, "horowitz-45nm")
    assert split.arithmetic_j == pytest.approx((10 * 0.03 + 2 * 0.1) * 1e-12)
    assert split.on_chip_j == pytest.approx((80 * 0.03 / 8 + 10) * 1e-12)   # 8 KB: 10 pJ
    assert split.dram_j == pytest.approx(3 * 1300e-12)
    assert split.total_j == pytest.approx(split.arithmetic_j + split.on_chip_j + split.dram_j)
    assert dict(split.detail)["DRAM head"] == pytest.approx(2600e-12)
    int8 = energy(Activity(pe="int8", memories=SMALL, nonzero_adds=10, zero_skips=99),
                  "horowitz-45nm")
    assert int8.arithmetic_j == pytest.approx(109 * (0.2 + 0.03) * 1e-12)
    half = split / 2
    assert half.dram_j == pytest.approx(split.dram_j / 2)
    with pytest.raises(ValueError, match=r"^an energy can be divided by a positive number, "
                                         r"not 0$"):
        split / 0


def test_sram_interpolation():
    table = energy_table("horowitz-45nm")
    kb = 8 * 1024
    assert table.sram_pj_per_bit(8 * kb) == pytest.approx(10 / 64)
    assert table.sram_pj_per_bit(100) == pytest.approx(10 / 64)          # held below 8 KB
    assert table.sram_pj_per_bit(16 * kb) == pytest.approx(10 * math.sqrt(2) / 64)
    assert table.sram_pj_per_bit(32 * kb) == pytest.approx(20 / 64)
    assert table.sram_pj_per_bit(1024 * kb) == pytest.approx(100 / 64)
    assert table.sram_pj_per_bit(4096 * kb) == pytest.approx(100 / 64)   # held above 1 MB
    seven = energy_table("bitnet-7nm")
    assert seven.sram_pj_per_bit(32 * kb) == pytest.approx(0.4 * 20 / 64)
    assert seven.int32_add.pj == pytest.approx(0.007 * 0.1 / 0.03)


def test_every_value_has_a_source_and_derived_ones_say_so():
    for table in TABLES.values():
        for label, pj, source, assumption in table.rows():
            assert pj > 0 and source
            assert source.startswith("assumed:") == assumption, (table.name, label)
    cited = {label: pj for label, pj, _, assumption in TABLES["bitnet-7nm"].rows()
             if not assumption}
    assert cited == {"INT8 add": 0.007, "INT8 multiply": 0.07, "FP16 add": 0.16,
                     "FP16 multiply": 0.34}
    assert not any(assumption for label, _, _, assumption in TABLES["horowitz-45nm"].rows()
                   if label != "register bit written")


# -- argument errors -------------------------------------------------------------------------

ACCEL = AccelConfig(rows=2, cols=2, max_k=64, max_n=64, acc_bits=16)


@pytest.mark.parametrize("call, error, message", [
    (lambda: gemm_activity({}, 1, 1, 1), TypeError, "accel must be an AccelConfig, not dict"),
    (lambda: gemm_activity(ACCEL, 0, 1, 1), ValueError, "M must be an integer from 1 to 256, "
                                                         "not 0"),
    (lambda: gemm_activity(ACCEL, 1, 1.0, 1), TypeError, "K must be an integer from 1 to 64, "
                                                          "not 1.0"),
    (lambda: gemm_activity(ACCEL, 1, 1, 1, pe=3), TypeError,
     "pe must be 'ternary', 'int8' or 'fp16', not 3"),
    (lambda: gemm_activity(ACCEL, 1, 1, 1, pe="fp32"), ValueError,
     "pe must be 'ternary', 'int8' or 'fp16', not 'fp32'"),
    (lambda: gemm_activity(AccelConfig(pe="int8"), 1, 1, 1, pe="ternary"), ValueError,
     "pe='ternary' needs a ternary accel: an int8-PE design has no ternary counterpart"),
    (lambda: gemm_activity(AccelConfig(rows=64, cols=64, weight_port_bits=512), 1, 1, 1,
                           pe="fp16"), ValueError,
     "pe='fp16' needs a weight port of a whole number of rows of 64 16-bit weights (a "
     "multiple of 1024 bits), not 512"),
    (lambda: gemm_activity(ACCEL, 1, 1, 1, nonzero_fraction="1"), TypeError,
     "nonzero_fraction must be a number from 0 to 1, not '1'"),
    (lambda: gemm_activity(ACCEL, 1, 1, 1, nonzero_fraction=1.5), ValueError,
     "nonzero_fraction must be a number from 0 to 1, not 1.5"),
    (lambda: gemm_activity(ACCEL, 1, 2, 3, nonzero_weights=7), ValueError,
     "nonzero_weights must be a count from 0 to K * N = 6, not 7"),
    (lambda: gemm_activity(ACCEL, 1, 2, 3, nonzero_weights=np.zeros((2, 3))), ValueError,
     "nonzero_weights must be the weights W[N, K] of shape (3, 2), not (2, 3)"),
    (lambda: gemm_activity(ACCEL, 1, 2, 3, nonzero_weights=[1]), TypeError,
     "nonzero_weights must be a count or the weights W[N, K] as a NumPy array, not list"),
    (lambda: gemm_activity(ACCEL, 1, 2, 3, nonzero_fraction=0.5, nonzero_weights=1),
     ValueError, "give nonzero_fraction or nonzero_weights, not both"),
    (lambda: token_activity(ACCEL, 3), TypeError, "jobs must be an iterable of (m, k, n), "
                                                  "not int"),
    (lambda: token_activity(ACCEL, []), ValueError, "jobs must not be empty"),
    (lambda: token_activity(ACCEL, [(1, 1, 1), (1, 2)]), ValueError,
     "job 1 must be (m, k, n), not (1, 2)"),
    (lambda: kv_cache_bits({}, 1), TypeError, "model must be a BitNetConfig, not dict"),
    (lambda: kv_cache_bits(MODEL, 0), ValueError, "context must be an integer of at least 1, "
                                                  "not 0"),
    (lambda: kv_cache_bits(MODEL, "8"), TypeError, "context must be an integer of at least 1, "
                                                   "not '8'"),
    (lambda: decode_jobs(MODEL, batch=0), ValueError, "batch must be an integer of at least 1, "
                                                      "not 0"),
    (lambda: decode_activity(ACCEL, MODEL, context=1, head_value_bits=-1), ValueError,
     "head_value_bits must be an integer of at least 0, not -1"),
    (lambda: weights_nonzero_fraction(3), TypeError, "weights must be an iterable of arrays, "
                                                     "not int"),
    (lambda: weights_nonzero_fraction([]), ValueError, "weights must hold at least one value"),
    (lambda: Activity(pe="ternary", memories=SMALL, cycles=-1), ValueError,
     "cycles must be a non-negative integer, not -1"),
    (lambda: Activity(pe="ternary", memories=SMALL, cycles=1.0), TypeError,
     "cycles must be a non-negative integer, not 1.0"),
    (lambda: Activity(pe="ternary", memories=None), TypeError,
     "memories must be a Memories, not NoneType"),
    (lambda: energy({}, "bitnet-7nm"), TypeError, "activity must be an Activity, not dict"),
    (lambda: energy_table(3), TypeError, "table must be 'horowitz-45nm' or 'bitnet-7nm', "
                                         "not 3"),
    (lambda: energy_table("x"), ValueError, "table must be 'horowitz-45nm' or 'bitnet-7nm', "
                                            "not 'x'"),
    (lambda: energy_table("bitnet-7nm").sram_pj_per_bit(0), ValueError,
     "capacity_bits must be a positive integer, not 0"),
])
def test_argument_errors(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message


def test_config_errors_stay_config_errors():
    with pytest.raises(ConfigError):
        gemm_activity(ACCEL, 1, 65, 1)


# -- the command line ------------------------------------------------------------------------

def test_command_line_prints_every_table_and_pe(capsys):
    assert energy_cli.main(["--context", "16", "--table", "bitnet-7nm", "horowitz-45nm"]) == 0
    out = capsys.readouterr().out
    for table in TABLES:
        for pe in ("ternary", "int8", "fp16"):
            assert f"| {table} | {pe} |" in out
        assert f"| {table} | fp16 / ternary |" in out


@pytest.mark.parametrize("argv, message", [
    (["--table", "nope"], "argument --table: invalid choice: 'nope' (choose from "
                          "'horowitz-45nm', 'bitnet-7nm')"),
    (["--nonzero-fraction", "2"], "argument --nonzero-fraction: expected a number from 0 to 1, "
                                  "not '2'"),
    (["--weight-port-bits", "100"], "--weight-port-bits must be the width of a whole number of "
                                    "tile rows of 64 i2 weights, from 128 (one row) to 8192 "
                                    "(the whole tile of 64 rows), not 100; powers of two among "
                                    "them: 128, 256, 512, 1024, 2048, 4096, 8192"),
    (["--weight-port-bits", "256"], "pe='int8' needs a weight port of a whole number of rows "
                                    "of 64 8-bit weights (a multiple of 512 bits), not 256"),
    (["--weight-port-bits", "512"], "pe='fp16' needs a weight port of a whole number of rows "
                                    "of 64 16-bit weights (a multiple of 1024 bits), not 512"),
])
def test_command_line_errors_are_one_line(argv, message, capsys):
    assert energy_cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"python -m gen.explore.energy: error: {message}\n"


def test_the_doc_lists_every_table_value():
    """docs/energy.md types the tables for the reader: each entry's value must be the code's."""
    text = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "energy.md").read_text()
    for table in TABLES.values():
        after = text[text.index(f"`{table.name}`: "):]
        rows = after[after.index("| entry"):].split("\n\n")[0]     # the first table after it
        for label, pj, _, assumption in table.rows():
            row = next(line for line in rows.splitlines() if line.startswith(f"| {label} |"))
            cells = [cell.strip() for cell in row.strip("|").split("|")]
            assert float(cells[1]) == pytest.approx(pj, rel=1e-5), (table.name, label)
            assert (cells[3] == "yes") == assumption, (table.name, label)
