"""cocotb bench of the weight decoder, both formats: words packed by golden's packers
(``golden.pack_i2_lanes``, ``golden.pack_t5``) must decode to the same ternary weights, lane by
lane; invalid codes (i2 code 3, t5 bytes above 242) decode as zero weights."""

import numpy as np
import pytest

import cocotb
from cocotb.triggers import Timer

import golden

from .bench import bench_config, bench_rng, run_bench


CONFIGS = {"i2-7": ("i2", 7), "t5-7": ("t5", 7), "i2-1": ("i2", 1), "t5-13": ("t5", 13)}


def _word_bits(fmt, lanes):
    return 2 * lanes if fmt == "i2" else 8 * ((lanes + 4) // 5)


def _pack(fmt, weights):
    packed = golden.pack_i2_lanes(weights) if fmt == "i2" else golden.pack_t5(weights)
    return golden.bytes_to_int(packed) & ((1 << _word_bits(fmt, len(weights))) - 1)


async def _decode(dut, word, lanes):
    dut.word.value = word
    await Timer(1, unit="ns")
    codes = dut.codes.value.to_unsigned()
    weights = []
    for lane in range(lanes):
        nz, neg = (codes >> (2 * lane)) & 1, (codes >> (2 * lane + 1)) & 1
        assert not (neg and not nz), f"lane {lane}: neg without nz"
        weights.append(0 if not nz else (-1 if neg else 1))
    return np.array(weights)


@cocotb.test()
async def golden_words(dut):
    fmt, lanes = bench_config()
    np_rng, _ = bench_rng(dut, f"decoder {fmt}")
    cases = [np.full(lanes, v) for v in (-1, 0, 1)]
    cases += [np_rng.integers(-1, 2, size=lanes) for _ in range(500)]
    for weights in cases:
        word = _pack(fmt, weights)
        got = await _decode(dut, word, lanes)
        assert np.array_equal(got, weights), f"word {word:#x}: decoded {got}, packed {weights}"


@cocotb.test()
async def invalid_codes_decode_as_zero(dut):
    fmt, lanes = bench_config()
    if fmt == "i2":
        for lane in range(lanes):
            got = await _decode(dut, 3 << (2 * lane), lanes)   # others are code 0 = -1
            expected = np.full(lanes, -1)
            expected[lane] = 0
            assert np.array_equal(got, expected), f"code 3 in lane {lane}: {got}"
    else:
        for value in range(243, 256):
            got = await _decode(dut, value, lanes)
            expected = np.zeros(lanes, dtype=int)
            expected[5:] = -1                                   # bytes 0 decode as -1
            assert np.array_equal(got, expected), f"byte {value}: {got}"


@pytest.mark.parametrize("label", list(CONFIGS))
def test_decoder(label):
    from gen.emit import emit_module
    from rtl.decoder import WeightDecoder
    fmt, lanes = CONFIGS[label]
    verilog = emit_module(WeightDecoder(weight_format=fmt, lanes=lanes,
                                        word_bits=_word_bits(fmt, lanes)), "decoder_bench")
    run_bench(kind="decoder", key=label, verilog=verilog, toplevel="decoder_bench",
              module="cosim.test_decoder", config=[fmt, lanes], name=label)
