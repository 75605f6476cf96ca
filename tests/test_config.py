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
    ({"rows": 8, "wmem_depth": 15},
     r"^wmem_depth must be an integer from 16 to 1048576, not 15 \(it must hold two tiles of 8 rows\)$"),
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
    assert AccelConfig(rows=8).weight_buffer_depth == 32 and AccelConfig(rows=64).weight_buffer_depth == 128


def test_cycle_model_hand_values():
    cfg = AccelConfig(rows=4, cols=3)
    # One tile: rows (buffer the tile) + 1 + M - 1 + latency (rows + cols + 5) + 1.
    assert cfg.cycles(1, 4, 3) == 4 + 1 + 0 + 12 + 1
    assert cfg.cycles(1, 1, 1) == cfg.cycles(1, 4, 3)
    # Weight-bound tiles when M < rows: each further tile costs rows cycles.
    assert cfg.cycles(1, 8, 3) - cfg.cycles(1, 4, 3) == 4
    # Activation-bound tiles when M >= rows: each further tile costs M cycles.
    assert cfg.cycles(10, 8, 6) - cfg.cycles(10, 4, 3) == 3 * 10
    # Tiny tiles: a row returns to the accumulator at most every ROW_SPACING (4) cycles.
    small = AccelConfig(rows=2, cols=3)
    assert small.cycles(1, 8, 3) - small.cycles(1, 2, 3) == 3 * 4
    assert small.cycles(3, 4, 3) - small.cycles(3, 2, 3) == 4
    assert small.result_queue_depth == small.latency + 2 == 2 + 3 + 7
    with pytest.raises(ValueError, match=r"^M must be an integer from 1 to 256, not 0$"):
        cfg.cycles(0, 1, 1)


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
    for rows, cols in ((1, 1), (4, 3), (7, 16), (64, 64)):
        cfg = AccelConfig(rows=rows, cols=cols)
        formula = build_manifest(cfg, "x.v")["cycle_model"]["formula"]
        for m, k, n in ((1, 1, 1), (3, 130, 70), (256, 512, 512), (17, 5, 200)):
            value = eval(formula, {"ceil": math.ceil, "max": max},
                         {"rows": rows, "cols": cols, "M": m, "K": k, "N": n})
            assert value == cfg.cycles(m, k, n)


# ---- a configuration is a value -------------------------------------------------------------

def test_variants_come_from_replace():
    """Defaults stay unresolved in the fields, so a variant re-derives them."""
    import dataclasses
    small = AccelConfig(rows=8)
    big = dataclasses.replace(small, rows=64)
    assert big == AccelConfig(rows=64)
    assert big.weight_buffer_depth == 128 and small.weight_buffer_depth == 32
    ternary = dataclasses.replace(AccelConfig(pe="int8"), pe="ternary")
    assert ternary == AccelConfig() and ternary.format.name == "i2"
    assert AccelConfig(pe="int8").format.name == "int8" and AccelConfig(pe="int8").word_bits == 64
    # An explicit value is kept, and checked again against the new rows.
    with pytest.raises(ConfigError, match=r"^wmem_depth must be an integer from 128 to"):
        dataclasses.replace(AccelConfig(rows=8, wmem_depth=32), rows=64)


def test_resolved_defaults_are_what_the_manifest_records():
    assert AccelConfig().as_dict()["weight_format"] == "i2"
    assert AccelConfig().as_dict()["wmem_depth"] == 32
    # Naming a default explicitly is the same hardware: the same digest.
    assert AccelConfig(weight_format="i2", wmem_depth=32).digest == AccelConfig().digest
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
    ({"wmem_depth": "big"}, r"^wmem_depth must be an integer from 16 to 1048576, not 'big'$"),
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
    assert AccelConfig().digest == "c67a133faffb7131"
    assert AccelConfig(rows=64, cols=64).digest == "f72bd75f6a924f21"
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
    """rows=2, cols=3, one lane per beat (B = 3): latency 10, result queue 12 slots. Figures
    derived by hand and checked in the Amaranth simulator (tests/test_rtl_amaranth.py)."""
    cfg = AccelConfig(rows=2, cols=3, result_lanes=1)
    # One row: the one-beat formula plus the last row's B - 1 further beats.
    assert cfg.cycles(1, 1, 1) == AccelConfig(rows=2, cols=3).cycles(1, 1, 1) + 2 == 16
    # The first row enters at rows + 1 = 3, its first beat leaves 10 cycles later, and from
    # then on the drain never idles (the credits keep the queue fed): 3 + 10 + B * rows out.
    assert cfg.cycles(5, 2, 3) == 3 + 10 + 3 * 5
    assert cfg.cycles(20, 2, 3) == 3 + 10 + 3 * 20
    assert cfg.cycles(20, 2, 6) == 3 + 10 + 3 * 40
    # Two K tiles: the first result row enters after the M rows of the first K tile.
    assert cfg.cycles(20, 4, 6) == 3 + 20 + 10 + 3 * 40
    with pytest.raises(ConfigError, match=r"^N must be an integer from 1 to 65535, not 0$"):
        cfg.schedule_cycles(1, 1, 0)


def test_closed_bound_of_several_beats_per_row():
    """docs/interface.md's closed form, typed here from the text: a lower bound of the row
    recurrence for every shape of a sweep, and equal to it whenever ``M <= latency``."""
    import itertools
    import math
    equal = 0
    for rows, cols, lanes in ((2, 3, 1), (4, 6, 4), (3, 7, 3), (1, 5, 2), (8, 8, 1), (1, 1, 1),
                              (5, 4, 3)):
        cfg = AccelConfig(rows=rows, cols=cols, result_lanes=lanes, max_m=64, max_k=400,
                          max_n=400)
        for m, k, n in itertools.product((1, 2, 3, 5, 8, 13, 20, 31, 45, 64), (1, 3, 9, 40),
                                         (1, 5, 17, 40)):
            beats, period = cfg.result_beats_per_row, max(m, rows, 4)
            k_tiles, n_tiles = math.ceil(k / rows), math.ceil(n / cols)
            bound = 2 * rows + cols + 6 + max(
                (k_tiles * n_tiles - 1) * period + m * beats,
                (k_tiles - 1) * period + n_tiles * m * beats)
            cycles = cfg.cycles(m, k, n)
            assert cycles >= bound, (rows, cols, lanes, m, k, n)
            if m <= rows + cols + 5:
                assert cycles == bound, (rows, cols, lanes, m, k, n)
                equal += 1
    assert equal > 500


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
        for m, k, n in ((1, 1, 1), (3, 13, 7), (20, 5, 5), (17, 9, 13)):
            bound = eval(model["bound_formula"], {"ceil": math.ceil, "max": max},
                         {**names, "M": m, "K": k, "N": n, "B": model["result_beats_per_row"]})
            if model["result_beats_per_row"] == 1 or m <= cfg.latency:
                assert bound == cfg.cycles(m, k, n)
            else:
                assert bound <= cfg.cycles(m, k, n)
    ports = {port["name"]: port for port in build_manifest(AccelConfig(), "x.v")["ports"]}
    assert ports["cmd__payload"]["fields"] == [{"name": "m", "offset": 0, "width": 9},
                                               {"name": "k", "offset": 9, "width": 16},
                                               {"name": "n", "offset": 25, "width": 16}]
    assert ports["cmd__payload"]["width"] == 41 and "fields" not in ports["weights__payload"]
