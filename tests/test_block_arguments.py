"""Every hardware block refuses wrong arguments up front, with an exact message: ``TypeError``
for a wrong type, ``ValueError`` for a wrong value. Before these checks, a bogus weight format
built a ``t5`` decoder, a PE too narrow for its sum truncated it, and a zero-depth buffer or a
negative delay elaborated."""

import gc
import re
import warnings

import pytest
from amaranth.hdl import UnusedElaboratable
from amaranth.lib import data

from rtl.accumulator import Accumulator
from rtl.array import SystolicArray, SystolicColumn
from rtl.command import JobControl
from rtl.config import AccelConfig
from rtl.decoder import WeightDecoder
from rtl.delay_line import DelayLine
from rtl.drain import ResultDrain
from rtl.feeder import ActivationFeeder
from rtl.pe import TernaryPE
from rtl.pe_int8 import Int8PE, Int8WeightLanes
from rtl.result_queue import ResultQueue
from rtl.result_serializer import ResultSerializer
from rtl.skew import SkewBuffer
from rtl.tile_counter import TileCounter
from rtl.top import TernaryAccelerator
from rtl.weight_store import WeightStore


def _refused(error, message, make):
    """``make()`` raises ``error`` with exactly ``message``. The half-built component warns
    when it is collected unused: collect it here, with that warning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(error, match=f"^{re.escape(message)}$") as info:
            make()
        assert type(info.value) is error
        del info
        gc.collect()


PE = {"act_bits": 8, "psum_in_bits": 0, "psum_out_bits": 9}
COUNTER = {"rows": 4, "cols": 3, "inner_bits": 2, "k_bits": 16, "n_bits": 16}
ACC = {"cols": 4, "acc_bits": 32, "column_bits": 11, "depth": 8}

CASES = [
    # The decoder: the ternary formats of golden's table only, and the word they need.
    (ValueError, "weight_format must be 'i2' or 't5', not 'bogus'",
     lambda: WeightDecoder(weight_format="bogus", lanes=4, word_bits=8)),
    (ValueError, "weight_format must be 'i2' or 't5', not 'int8'",
     lambda: WeightDecoder(weight_format="int8", lanes=4, word_bits=32)),
    (TypeError, "weight_format must be 'i2' or 't5', not 2",
     lambda: WeightDecoder(weight_format=2, lanes=4, word_bits=8)),
    (ValueError, "lanes must be at least 1, not 0",
     lambda: WeightDecoder(weight_format="i2", lanes=0, word_bits=8)),
    (ValueError, "word_bits must be 16 for 7 t5 weights, not 8",
     lambda: WeightDecoder(weight_format="t5", lanes=7, word_bits=8)),
    (ValueError, "word_bits must be 6 for 3 i2 weights, not 8",
     lambda: WeightDecoder(weight_format="i2", lanes=3, word_bits=8)),
    (TypeError, "word_bits must be an integer, not '8'",
     lambda: WeightDecoder(weight_format="i2", lanes=4, word_bits="8")),
    # The PEs: psum_out must hold psum_in and one product without truncating either.
    (ValueError, "psum_out_bits must be at least 9 to hold psum_in (0 bits) plus a product "
                 "(9 bits), not 4",
     lambda: TernaryPE(act_bits=8, psum_in_bits=0, psum_out_bits=4)),
    (ValueError, "psum_out_bits must be at least 12 to hold psum_in (12 bits) plus a product "
                 "(9 bits), not 11",
     lambda: TernaryPE(act_bits=8, psum_in_bits=12, psum_out_bits=11)),
    (ValueError, "psum_out_bits must be at least 5 to hold psum_in (0 bits) plus a product "
                 "(5 bits), not 4",
     lambda: TernaryPE(act_bits=4, psum_in_bits=0, psum_out_bits=4)),
    (TypeError, "act_bits must be an integer, not 8.0",
     lambda: TernaryPE(**{**PE, "act_bits": 8.0})),
    (ValueError, "act_bits must be at least 2, not 1",
     lambda: TernaryPE(**{**PE, "act_bits": 1})),
    (ValueError, "psum_in_bits must be at least 0, not -1",
     lambda: TernaryPE(**{**PE, "psum_in_bits": -1})),
    (TypeError, "psum_out_bits must be an integer, not True",
     lambda: TernaryPE(**{**PE, "psum_out_bits": True})),
    (ValueError, "psum_out_bits must be at least 16 to hold psum_in (0 bits) plus a product "
                 "(16 bits), not 15",
     lambda: Int8PE(act_bits=8, psum_in_bits=0, psum_out_bits=15)),
    (ValueError, "weight_bits must be at least 2, not 1",
     lambda: Int8PE(act_bits=8, psum_in_bits=0, psum_out_bits=16, weight_bits=1)),
    (ValueError, "lanes must be at least 1, not 0", lambda: Int8WeightLanes(lanes=0)),
    (TypeError, "weight_bits must be an integer, not '8'",
     lambda: Int8WeightLanes(lanes=2, weight_bits="8")),
    # Storage.
    (TypeError, "config must be an AccelConfig, not None", lambda: WeightStore(None)),
    (ValueError, "depth must be at least 2, not 1", lambda: ResultQueue(8, depth=1)),
    (TypeError, "depth must be an integer, not 4.0", lambda: ResultQueue(8, depth=4.0)),
    (TypeError, "shape must be a shape, not 'wide'", lambda: ResultQueue("wide", depth=4)),
    (ValueError, "lanes must be an integer from 1 to 6, not 7",
     lambda: ResultSerializer(8, cols=6, lanes=7)),
    (ValueError, "lanes must be an integer from 1 to 6, not 0",
     lambda: ResultSerializer(8, cols=6, lanes=0)),
    (TypeError, "lanes must be an integer, not 2.0",
     lambda: ResultSerializer(8, cols=6, lanes=2.0)),
    (ValueError, "cols must be at least 1, not 0", lambda: ResultSerializer(8, cols=0, lanes=1)),
    (TypeError, "cols must be an integer, not True",
     lambda: ResultSerializer(8, cols=True, lanes=1)),
    (TypeError, "lane_shape must be a shape, not 'acc'",
     lambda: ResultSerializer("acc", cols=6, lanes=2)),
    (ValueError, "cols must be at least 1, not 0", lambda: Accumulator(**{**ACC, "cols": 0})),
    (ValueError, "acc_bits must be at least column_bits=11, not 10",
     lambda: Accumulator(**{**ACC, "acc_bits": 10})),
    (TypeError, "depth must be an integer, not '8'",
     lambda: Accumulator(**{**ACC, "depth": "8"})),
    # Delays.
    (ValueError, "delays must be at least 0, not [-1, 2]", lambda: SkewBuffer(8, [-1, 2])),
    (ValueError, "delays must name at least one lane, not []", lambda: SkewBuffer(8, [])),
    (TypeError, "delays must be a sequence of integers, not 3", lambda: SkewBuffer(8, 3)),
    (TypeError, "delays must be a sequence of integers, not [1.5]",
     lambda: SkewBuffer(8, [1.5])),
    (TypeError, "shape must be a shape, not 'x'", lambda: SkewBuffer("x", [0, 1])),
    (ValueError, "delay must be at least 0, not -1", lambda: DelayLine(1, delay=-1)),
    (ValueError, "tap must be at most delay=2, not 3", lambda: DelayLine(1, delay=2, tap=3)),
    (TypeError, "reset_less must be True or False, not 0",
     lambda: DelayLine(1, delay=2, reset_less=0)),
    # The sequencer's counter.
    (ValueError, "rows must be at least 1, not 0", lambda: TileCounter(**{**COUNTER, "rows": 0})),
    (ValueError, "beats must be at most 4 (inner_bits=2), not 5",
     lambda: TileCounter(**COUNTER, beats=5)),
    (TypeError, "per_k_tile must be True or False, not 1",
     lambda: TileCounter(**COUNTER, per_k_tile=1)),
    # Blocks built from the configuration.
    (TypeError, "config must be an AccelConfig, not 8", lambda: SystolicArray(8)),
    (TypeError, "instantiate must be True or False, not 1",
     lambda: SystolicArray(AccelConfig(rows=2, cols=2), instantiate=1)),
    (TypeError, "config must be an AccelConfig, not {'rows': 2}",
     lambda: SystolicColumn({"rows": 2})),
    (TypeError, "instantiate must be True or False, not 'yes'",
     lambda: SystolicColumn(AccelConfig(rows=2, cols=2), instantiate="yes")),
    (TypeError, "config must be an AccelConfig, not None", lambda: JobControl(None)),
    (TypeError, "config must be an AccelConfig, not None", lambda: ActivationFeeder(None)),
    (TypeError, "config must be an AccelConfig, not None", lambda: ResultDrain(None)),
    (TypeError, "config must be an AccelConfig, not '8x8'", lambda: TernaryAccelerator("8x8")),
    (TypeError, "instantiate_pes must be True or False, not 'yes'",
     lambda: TernaryAccelerator(AccelConfig(rows=2, cols=2), instantiate_pes="yes")),
]


@pytest.mark.parametrize("error, message, make", CASES, ids=[case[1] for case in CASES])
def test_wrong_argument_is_refused(error, message, make):
    _refused(error, message, make)


def test_widths_the_array_uses_are_accepted():
    """Every PE variant of real arrays passes the check, including a row whose sum needs no
    more bits than the sum above it (row 2 of 8-bit activations: 256 and 384 both need 10)."""
    from rtl.array import make_pe, pe_variants
    from amaranth.back import rtlil
    for config in (AccelConfig(rows=8, cols=2), AccelConfig(rows=3, cols=2, act_bits=2),
                   AccelConfig(rows=4, cols=2, pe="int8")):
        for in_bits, out_bits in set(pe_variants(config).values()):
            rtlil.convert(make_pe(config, in_bits, out_bits))
    assert (10, 10) in pe_variants(AccelConfig(rows=8, cols=2)).values()


def test_smallest_accepted_blocks_elaborate():
    from amaranth.back import rtlil
    for block in (WeightStore(AccelConfig(rows=1, cols=1, wmem_tiles=2)),
                  WeightStore(AccelConfig(rows=3, cols=2, weight_port_bits=8)),
                  ResultQueue(1, depth=2),
                  ResultSerializer(1, cols=1, lanes=1), ResultSerializer(2, cols=3, lanes=2),
                  SkewBuffer(data.ArrayLayout(4, 2), [0]), DelayLine(3, delay=0, tap=0),
                  TileCounter(**COUNTER, beats=4, per_k_tile=False),
                  WeightDecoder(weight_format="t5", lanes=1, word_bits=8)):
        rtlil.convert(block)
