"""AccelConfig: validation messages, derived widths and the cycle model's arithmetic."""

import pytest

from rtl.config import AccelConfig, ConfigError, psum_width


@pytest.mark.parametrize("kwargs, message", [
    ({"rows": 0}, r"^rows must be an integer from 1 to 256, not 0$"),
    ({"rows": 257}, r"^rows must be an integer from 1 to 256, not 257$"),
    ({"cols": -3}, r"^cols must be an integer from 1 to 256, not -3$"),
    ({"rows": 2.0}, r"^rows must be an integer from 1 to 256, not 2.0$"),
    ({"rows": True}, r"^rows must be an integer from 1 to 256, not True$"),
    ({"act_bits": 1}, r"^act_bits must be an integer from 2 to 8, not 1$"),
    ({"weight_format": "i3"}, r"^weight_format must be 'i2' or 't5', not 'i3'$"),
    ({"rows": 8, "wmem_tiles": 1},
     r"^wmem_tiles must be an integer from 2 to 4096, not 1 \(one tile being read, one being written\)$"),
    ({"max_m": 0}, r"^max_m must be an integer from 1 to 65536, not 0$"),
    ({"name": "9lives"}, r"^name must be a Verilog identifier"),
    ({"name": "a b"}, r"^name must be a Verilog identifier"),
    ({"acc_bits": 16},
     r"^acc_bits must be at least 24 so that no result overflows with K up to max_k=65535 "
     r"and 8-bit activations, not 16$"),
])
def test_invalid_configurations_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        AccelConfig(**kwargs)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_accumulator_bound_is_exact():
    # K = 255 with 8-bit activations: |Y| <= 255 * 128 = 32640 fits 16 signed bits.
    AccelConfig(acc_bits=16, max_k=255)
    with pytest.raises(ConfigError):
        AccelConfig(acc_bits=16, max_k=256)   # 256 * 128 = 32768 does not


@pytest.mark.parametrize("terms, bits, width", [(1, 8, 9), (2, 8, 10), (3, 8, 10), (4, 8, 11),
                                                (64, 8, 15), (1, 2, 3)])
def test_psum_width(terms, bits, width):
    assert psum_width(terms, bits) == width
    extreme = terms << (bits - 1)
    assert -(1 << (width - 1)) <= -extreme and extreme <= (1 << (width - 1)) - 1
    assert extreme > (1 << (width - 2)) - 1          # one bit fewer would not do


def test_derived_widths():
    cfg = AccelConfig(rows=64, cols=64)
    assert [cfg.psum_bits(k) for k in (0, 1, 3, 63)] == [9, 10, 11, 15]
    assert cfg.word_bits == 128
    assert AccelConfig(cols=7, weight_format="t5").word_bits == 16
    assert AccelConfig(cols=10, weight_format="t5").word_bits == 16
    assert cfg.act_stream_bits == 512 and cfg.result_stream_bits == 2048
    # 2 + ceil((rows + 1) / floor(rows / k)) slots.
    assert AccelConfig(rows=8).weight_store_tiles == 4 == AccelConfig(rows=64).weight_store_tiles
    assert AccelConfig(rows=64, cols=64, weight_port_bits=1024).weight_store_tiles == 2 + 9
    assert AccelConfig(rows=64, cols=64, weight_format="t5",
                       weight_port_bits=1024).weight_store_tiles == 2 + 11     # k=10: 6 per tile


def test_cycle_model_hand_values():
    cfg = AccelConfig(rows=4, cols=3)
    # One tile: its rows beats (cycles 0..3), its first row the cycle after, then M - 1 more
    # rows and the latency (rows + 5) to the last result, which is counted: 4 + 1 + 0 + 9.
    assert cfg.latency == 9
    assert cfg.cycles(1, 4, 3) == 4 + 1 + 0 + 9
    assert cfg.cycles(1, 1, 1) == cfg.cycles(1, 4, 3)
    # Weight-bound tiles when M < rows: each further tile costs rows cycles (its beats).
    assert cfg.cycles(1, 8, 3) - cfg.cycles(1, 4, 3) == 4
    # Activation-bound tiles when M >= rows: each further tile costs M cycles.
    assert cfg.cycles(10, 8, 6) - cfg.cycles(10, 4, 3) == 3 * 10
    # Tiny tiles (rows < 4): the accumulator forwards, a row may return every cycle, and
    # tiles cost their weight beats (rows) or their M rows, whichever is more.
    small = AccelConfig(rows=2, cols=3)
    assert small.accumulator_forwarding and small.row_spacing == 1
    assert not cfg.accumulator_forwarding and cfg.row_spacing == 4
    assert small.cycles(1, 8, 3) - small.cycles(1, 2, 3) == 3 * 2
    assert small.cycles(3, 4, 3) - small.cycles(3, 2, 3) == 3
    assert small.result_queue_depth == small.latency + 2 == 2 + 5 + 2
    with pytest.raises(ValueError, match=r"^M must be an integer from 1 to 256, not 0$"):
        cfg.cycles(0, 1, 1)


def test_wide_port_cycle_hand_values():
    """8x8 with a whole i2 tile per beat (W = 128): a tile per cycle at M = 1; 64 tiles take
    64 beats, then M + latency (8 + 5); four rows per beat: two beats per tile, and the
    accumulator forwards (tiles of 2 cycles)."""
    whole = AccelConfig(weight_port_bits=128)
    assert whole.rows_per_beat == 8 and whole.row_spacing == 1
    assert whole.cycles(1, 64, 64) == 64 + 1 + 13
    # Batched: M = 8 rows per tile, the activations now bound every tile after the first.
    assert whole.cycles(8, 64, 64) == 1 + 63 * 8 + 8 + 13
    half = AccelConfig(weight_port_bits=64)
    assert half.rows_per_beat == 4 and half.cycles(1, 64, 64) == 128 + 1 + 13
    assert half.cycles(2, 64, 64) == 128 + 2 + 13          # B <= tile bits / W: same beats
    # Ten t5 rows per 1024-bit beat at 64x64: 6.4 beats per tile, padding only at the end.
    t5 = AccelConfig(rows=64, cols=64, weight_format="t5", weight_port_bits=1024)
    assert t5.rows_per_beat == 10 and t5.beat_bits_per_weight == 1.6
    assert t5.cycles(1, 2560, 2560) == 40 * 40 * 64 // 10 + 1 + 69


def test_gemv_meets_the_roofline_at_2b4t_shapes():
    """At M = 1 a job costs its weight bits over W plus a fixed M + latency: the issue's
    bound 1.05 x N*K*bits/W + a constant, for the four 2B-4T shapes and both formats."""
    for fmt, width in (("i2", 1024), ("t5", 1024), ("i2", 512), ("t5", 512)):
        cfg = AccelConfig(rows=64, cols=64, weight_format=fmt, weight_port_bits=width)
        bits = {"i2": 2, "t5": 1.6}[fmt]
        for n, k in ((2560, 2560), (640, 2560), (6912, 2560), (2560, 6912)):
            roofline = n * k * bits / width
            fixed = 1 + cfg.latency
            assert cfg.cycles(1, k, n) <= 1.05 * roofline + fixed, (fmt, width, n, k)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"cols": 8, "weight_port_bits": 100}, ConfigError,
     r"^weight_port_bits must be the width of a whole number of tile rows of 8 i2 weights, "
     r"from 16 \(one row\) to 128 \(the whole tile of 8 rows\), not 100; powers of two "
     r"among them: 16, 32, 64, 128$"),
    ({"cols": 8, "weight_port_bits": 256}, ConfigError, r"from 16 \(one row\) to 128 .*not 256;"),
    ({"rows": 64, "cols": 64, "weight_format": "t5", "weight_port_bits": 128}, ConfigError,
     r"^weight_port_bits must be .* of 64 t5 weights, from 104 \(one row\) to 6560 \(the whole "
     r"tile of 64 rows\), not 128; powers of two among them: 512, 1024, 2048, 4096$"),
    ({"rows": 2, "cols": 5, "weight_format": "t5", "weight_port_bits": 12}, ConfigError,
     r"from 8 \(one row\) to 16 \(the whole tile of 2 rows\), not 12; powers of two among "
     r"them: 8, 16$"),
    ({"weight_port_bits": 16.0}, TypeError, r"^weight_port_bits must be .*, not 16.0$"),
    ({"weight_port_bits": True}, TypeError, r"^weight_port_bits must be .*, not True$"),
    ({"weight_port_bits": 0}, ConfigError, r"not 0;"),
])
def test_weight_port_bits_is_checked(kwargs, error, message):
    from rtl.config import ConfigTypeError
    with pytest.raises(error, match=message) as caught:
        AccelConfig(**kwargs)
    assert caught.value.field == "weight_port_bits"
    assert isinstance(caught.value, ConfigTypeError) == (error is TypeError)


def test_weight_port_widths_by_hand():
    """i2: 2 bits per weight, k rows of cols; t5: 8 * ceil(k * cols / 5)."""
    assert AccelConfig(rows=4, cols=3).legal_weight_port_bits == (6, 12, 18, 24)
    assert AccelConfig(rows=3, cols=8, weight_format="t5").legal_weight_port_bits == \
        (16, 32, 40)
    assert AccelConfig(rows=2, cols=2, pe="int8").legal_weight_port_bits == (16, 32)
    t5 = AccelConfig(rows=8, cols=8, weight_format="t5", weight_port_bits=64)
    assert t5.rows_per_beat == 5 and t5.beat_bits_per_weight == 1.6
    assert t5.weight_beats(16, 16) == 4 * 8 // 5 + 1                  # 32 rows, 7 beats
    assert AccelConfig(weight_format="t5").beat_bits_per_weight == 2.0  # one 8-weight row
    # A width that several row counts share carries the most rows: five one-weight t5 rows
    # fit the byte of one, and so do two two-weight rows.
    one = AccelConfig(rows=5, cols=1, weight_format="t5")
    assert one.word_bits == 8 and one.rows_per_beat == 5 and one.legal_weight_port_bits == (8,)
    assert AccelConfig(rows=4, cols=2, weight_format="t5").legal_weight_port_bits == (8, 16)
    assert AccelConfig(rows=4, cols=2, weight_format="t5").rows_per_beat == 2
    assert AccelConfig(rows=4, cols=2, weight_format="t5", weight_port_bits=16).rows_per_beat == 4
    assert AccelConfig(rows=4, cols=3, weight_format="t5", weight_port_bits=16).rows_per_beat == 3


def test_default_store_never_holds_the_weight_stream_back():
    """A deeper store than the default gives no job fewer cycles (M = 1 and batches, every
    rows-per-beat of a few arrays); a store of 2 slots does hold a wide port back."""
    import itertools
    for rows, cols, fmt in ((8, 8, "i2"), (8, 8, "t5"), (16, 4, "i2"), (5, 3, "t5"),
                            (64, 64, "t5")):
        base = AccelConfig(rows=rows, cols=cols, weight_format=fmt, max_m=64)
        for width in base.legal_weight_port_bits:
            cfg = AccelConfig(rows=rows, cols=cols, weight_format=fmt, weight_port_bits=width,
                              max_m=64)
            deep = AccelConfig(rows=rows, cols=cols, weight_format=fmt, weight_port_bits=width,
                               max_m=64, wmem_tiles=4096)
            for m, k, n in itertools.product((1, 3, 8, 64), (rows, 3 * rows + 1),
                                             (cols, 5 * cols)):
                if rows == 64 and m > 1:
                    continue
                assert cfg.cycles(m, k, n) == deep.cycles(m, k, n), (rows, cols, width, m, k, n)
    tight = AccelConfig(weight_port_bits=128, wmem_tiles=2)
    assert tight.cycles(1, 64, 64) > AccelConfig(weight_port_bits=128).cycles(1, 64, 64)


def test_utilization_reaches_95_percent_in_steady_state():
    for rows, cols in ((8, 8), (64, 64), (3, 7)):
        cfg = AccelConfig(rows=rows, cols=cols)
        assert cfg.utilization(4 * rows, 8 * rows, 8 * cols) >= 0.95


def test_digest_depends_on_every_parameter():
    base = AccelConfig()
    assert base.digest == AccelConfig().digest
    for change in ({"rows": 9}, {"weight_format": "t5"}, {"name": "other"}, {"max_m": 7}):
        assert AccelConfig(**change).digest != base.digest


def test_manifest_formula_is_the_cycle_model():
    """The formula string in manifest.json, evaluated as written, gives ``cycles``."""
    import math
    from gen.emit import build_manifest
    for rows, cols, width in ((1, 1, None), (4, 3, None), (7, 16, None), (64, 64, None),
                              (7, 16, 96), (64, 64, 1024), (4, 3, 24)):
        cfg = AccelConfig(rows=rows, cols=cols, weight_port_bits=width)
        formula = build_manifest(cfg, "x.v")["cycle_model"]["formula"]
        for m, k, n in ((1, 1, 1), (3, 130, 70), (256, 512, 512), (17, 5, 200)):
            names = build_manifest(cfg, "x.v")["cycle_model"]["formula_names"]
            value = eval(formula, {"ceil": math.ceil, "max": max},
                         {"rows": rows, "cols": cols, "M": m, "K": k, "N": n, **names})
            assert value == cfg.cycles(m, k, n)


# ---- a configuration is a value -------------------------------------------------------------

def test_variants_come_from_replace():
    """Defaults stay unresolved in the fields, so a variant re-derives them."""
    import dataclasses
    import math
    small = AccelConfig(rows=8)
    big = dataclasses.replace(small, rows=64)
    assert big == AccelConfig(rows=64)
    assert big.weight_store_tiles == small.weight_store_tiles == 4
    wide = AccelConfig(rows=8, weight_port_bits=64)
    assert dataclasses.replace(wide, rows=64).weight_store_tiles == 2 + math.ceil(65 / 16)
    ternary = dataclasses.replace(AccelConfig(pe="int8"), pe="ternary")
    assert ternary == AccelConfig() and ternary.format.name == "i2"
    assert AccelConfig(pe="int8").format.name == "int8" and AccelConfig(pe="int8").word_bits == 64
    # An explicit value is kept, and checked again against the new rows.
    with pytest.raises(ConfigError, match=r"^weight_port_bits must be .* from 10 \(one row\)"):
        dataclasses.replace(wide, cols=5)


def test_resolved_defaults_are_what_the_manifest_records():
    assert AccelConfig().as_dict()["weight_format"] == "i2"
    assert AccelConfig().as_dict()["wmem_tiles"] == 4
    assert AccelConfig().as_dict()["weight_port_bits"] == 16
    # Naming a default explicitly is the same hardware: the same digest.
    assert AccelConfig(weight_format="i2", weight_port_bits=16,
                       wmem_tiles=4).digest == AccelConfig().digest
    assert AccelConfig(**AccelConfig(rows=5, pe="int8").as_dict()).digest == \
        AccelConfig(rows=5, pe="int8").digest


def test_keyword_only():
    with pytest.raises(TypeError):
        AccelConfig(8, 8)


@pytest.mark.parametrize("kwargs, message", [
    ({"rows": "8"}, r"^rows must be an integer from 1 to 256, not '8'$"),
    ({"acc_bits": 32.0}, r"^acc_bits must be an integer from 2 to 64, not 32.0$"),
    ({"pe": 1}, r"^pe must be 'ternary' or 'int8', not 1$"),
    ({"weight_format": 2}, r"^weight_format must be 'i2' or 't5', not 2$"),
    ({"name": None}, r"^name must be a string, not None$"),
    ({"wmem_tiles": "big"}, r"^wmem_tiles must be an integer from 2 to 4096, not 'big'$"),
])
def test_wrong_types_are_type_errors(kwargs, message):
    from rtl.config import ConfigTypeError
    with pytest.raises(TypeError, match=message) as caught:
        AccelConfig(**kwargs)
    assert isinstance(caught.value, ConfigTypeError) and isinstance(caught.value, ConfigError)
    assert caught.value.field == next(iter(kwargs))


@pytest.mark.parametrize("kwargs, field, message", [
    ({"pe": "fp16"}, "pe", r"^pe must be 'ternary' or 'int8', not 'fp16'$"),
    ({"pe": "int8", "weight_format": "t5"}, "weight_format",
     r"^weight_format must be 'int8' with pe='int8', not 't5'$"),
    ({"weight_format": "int8"}, "weight_format", r"^weight_format must be 'i2' or 't5', not 'int8'$"),
    ({"act_bits": 9}, "act_bits", r"^act_bits must be an integer from 2 to 8, not 9$"),
    ({"act_bits": 16}, "act_bits", r"^act_bits must be an integer from 2 to 8, not 16$"),
    ({"name": "module"}, "name",
     r"^name must not be a Verilog or SystemVerilog keyword, not 'module'$"),
    ({"name": "logic"}, "name",
     r"^name must not be a Verilog or SystemVerilog keyword, not 'logic'$"),
    ({"acc_bits": 16}, "acc_bits", r"^acc_bits must be at least 24 "),
])
def test_wrong_values_name_their_field(kwargs, field, message):
    with pytest.raises(ConfigError, match=message) as caught:
        AccelConfig(**kwargs)
    assert not isinstance(caught.value, TypeError)
    assert caught.value.field == field


def test_job_size_errors_name_no_field():
    with pytest.raises(ConfigError, match=r"^K must be an integer from 1 to 65535, not 0$") as caught:
        AccelConfig().cycles(1, 0, 1)
    assert caught.value.field is None


# ---- a narrower result stream (result_lanes) ------------------------------------------------

@pytest.mark.parametrize("kwargs, error, message", [
    ({"cols": 8, "result_lanes": 0}, ConfigError,
     r"^result_lanes must be an integer from 1 to 8, not 0 \(one result row is 8 lanes\)$"),
    ({"cols": 8, "result_lanes": 9}, ConfigError,
     r"^result_lanes must be an integer from 1 to 8, not 9 \(one result row is 8 lanes\)$"),
    ({"cols": 3, "result_lanes": 4.0}, TypeError,
     r"^result_lanes must be an integer from 1 to 3, not 4.0$"),
    ({"cols": 3, "result_lanes": True}, TypeError,
     r"^result_lanes must be an integer from 1 to 3, not True$"),
])
def test_result_lanes_is_checked(kwargs, error, message):
    from rtl.config import ConfigTypeError
    with pytest.raises(error, match=message) as caught:
        AccelConfig(**kwargs)
    assert caught.value.field == "result_lanes"
    assert isinstance(caught.value, ConfigTypeError) == (error is TypeError)


def test_result_lanes_sets_the_beat():
    wide = AccelConfig(rows=64, cols=64)
    assert wide.result_beat_lanes == 64 and wide.result_beats_per_row == 1
    assert wide.result_stream_bits == wide.result_row_bits == 2048
    narrow = AccelConfig(rows=64, cols=64, result_lanes=16)
    assert narrow.result_beats_per_row == 4
    assert narrow.result_stream_bits == 512 and narrow.result_row_bits == 2048
    assert AccelConfig(cols=7, result_lanes=3).result_beats_per_row == 3    # 3 + 3 + 1 lanes
    assert AccelConfig(cols=7, result_lanes=6).result_beats_per_row == 2
    assert AccelConfig(cols=1, result_lanes=1).result_beats_per_row == 1


def test_result_lanes_keeps_the_digest_of_one_beat_per_row():
    """The digests of before the option (written here by hand): one beat per row, whether
    ``result_lanes`` is left out or says ``cols``, is the same hardware and the same digest;
    several beats per row are recorded and rebuild the same configuration."""
    assert AccelConfig().digest == "ca56658b80c6d000"
    assert AccelConfig(rows=64, cols=64).digest == "31241b5d833bb25c"
    assert AccelConfig(result_lanes=8).digest == AccelConfig().digest
    assert "result_lanes" not in AccelConfig(result_lanes=8).as_dict()
    narrow = AccelConfig(result_lanes=3)
    assert narrow.as_dict()["result_lanes"] == 3
    assert AccelConfig(**narrow.as_dict()).digest == narrow.digest
    assert len({AccelConfig(result_lanes=lanes).digest for lanes in (2, 3, 4, 8)}) == 4


def test_schedule_recurrence_gives_the_formula_with_one_beat_per_row():
    """The row recurrence (the only model with several beats per row) against the closed
    formula, with credits that never bind: every shape of a small sweep."""
    import itertools
    for rows, cols in ((1, 1), (1, 6), (2, 2), (4, 3), (3, 7), (5, 1), (8, 8)):
        cfg = AccelConfig(rows=rows, cols=cols, max_m=40, max_k=200, max_n=200)
        for m, k, n in itertools.product(range(1, 40, 3), (1, 2, 5, 17, 40), (1, 3, 9, 20)):
            assert cfg.schedule_cycles(m, k, n) == cfg.cycles(m, k, n), (rows, cols, m, k, n)


def test_cycle_model_with_several_beats_per_row_hand_values():
    """rows=2, cols=3, one lane per beat (B = 3): latency 7, result queue 9 slots, and the
    accumulator forwards (tiles of 2 beats). Figures derived by hand and checked in the
    Amaranth simulator (tests/test_rtl_amaranth.py)."""
    cfg = AccelConfig(rows=2, cols=3, result_lanes=1)
    assert cfg.latency == 7 and cfg.result_queue_depth == 9
    # One row: the one-beat formula plus the last row's B - 1 further beats.
    assert cfg.cycles(1, 1, 1) == AccelConfig(rows=2, cols=3).cycles(1, 1, 1) + 2 == 12
    # The first row enters at rows = 2 (after the tile's two beats), its first beat leaves 7
    # cycles later, and from then on the drain never idles: 2 + 7 + B * rows out.
    assert cfg.cycles(5, 2, 3) == 2 + 7 + 3 * 5
    assert cfg.cycles(20, 2, 3) == 2 + 7 + 3 * 20
    assert cfg.cycles(20, 2, 6) == 2 + 7 + 3 * 40
    # Two K tiles: the first result row enters after the M rows of the first K tile, and
    # with a queue of 9 slots the drain idles while the second N tile's first K tile runs.
    assert cfg.cycles(20, 4, 6) > 2 + 20 + 7 + 3 * 40
    with pytest.raises(ConfigError, match=r"^N must be an integer from 1 to 65535, not 0$"):
        cfg.schedule_cycles(1, 1, 0)


def test_closed_bound_of_several_beats_per_row():
    """The manifest's bound (gen.emit.CYCLE_BOUND_FORMULA), typed here from docs/interface.md:
    a lower bound of the row recurrence for every shape of a sweep, wide ports included, and
    equal to it for most (when the result stream or the activations bind, not the weights
    together with them)."""
    import itertools
    import math
    equal = 0
    for rows, cols, lanes, width in ((2, 3, 1, None), (4, 6, 4, None), (4, 6, 4, 48),
                                     (3, 7, 3, 42), (1, 5, 2, None), (8, 8, 1, None),
                                     (8, 8, 3, 64), (5, 4, 3, 24), (1, 1, 1, None)):
        cfg = AccelConfig(rows=rows, cols=cols, result_lanes=lanes, weight_port_bits=width,
                          max_m=64, max_k=400, max_n=400)
        per_beat, spacing = cfg.rows_per_beat, cfg.row_spacing
        for m, k, n in itertools.product((1, 2, 3, 5, 8, 13, 20, 31, 45, 64), (1, 3, 9, 40),
                                         (1, 5, 17, 40)):
            beats, period = cfg.result_beats_per_row, max(m, spacing)
            k_tiles, n_tiles = math.ceil(k / rows), math.ceil(n / cols)
            tiles = k_tiles * n_tiles
            bound = rows + 5 + max(
                math.ceil(rows / per_beat) + max((tiles - 1) * period + m * beats,
                                                 (k_tiles - 1) * period + n_tiles * m * beats),
                math.ceil(tiles * rows / per_beat) + m * beats)
            cycles = cfg.cycles(m, k, n)
            assert cycles >= bound, (rows, cols, lanes, m, k, n)
            equal += cycles == bound
    assert equal > 1200
def test_manifest_bound_formula_and_command_fields():
    """The manifest's bound formula equals the cycle model with one beat per row and bounds it
    from below with several; its latency formula, evaluated, is the latency; the command
    port lists its fields (8x8 defaults: M 9 bits, K and N 16 bits each, from bit 0)."""
    import math
    from gen.emit import build_manifest
    for cfg in (AccelConfig(rows=4, cols=3), AccelConfig(rows=4, cols=6, result_lanes=4),
                AccelConfig(rows=2, cols=3, result_lanes=1, max_m=64)):
        manifest = build_manifest(cfg, "x.v")
        model = manifest["cycle_model"]
        names = {"rows": cfg.rows, "cols": cfg.cols}
        assert eval(model["latency_formula"], {}, names) == cfg.latency == model["latency"]
        names.update(model["formula_names"])
        for m, k, n in ((1, 1, 1), (3, 13, 7), (20, 5, 5), (17, 9, 13)):
            bound = eval(model["bound_formula"], {"ceil": math.ceil, "max": max},
                         {**names, "M": m, "K": k, "N": n, "B": model["result_beats_per_row"]})
            if model["result_beats_per_row"] == 1:
                assert bound == cfg.cycles(m, k, n)
            else:
                assert bound <= cfg.cycles(m, k, n)
    ports = {port["name"]: port for port in build_manifest(AccelConfig(), "x.v")["ports"]}
    assert ports["cmd__payload"]["fields"] == [{"name": "m", "offset": 0, "width": 9},
                                               {"name": "k", "offset": 9, "width": 16},
                                               {"name": "n", "offset": 25, "width": 16}]
    assert ports["cmd__payload"]["width"] == 41 and "fields" not in ports["weights__payload"]
