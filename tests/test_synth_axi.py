"""Synthesis of the memory-mapped top (``--interface axi``): the core's breakdown is found
inside it and the front end is reported apart (each block of rtl/axi synthesized alone), with
the memories in their roles. ECP5's place and route figures are in docs/synthesis.md."""

import pytest

from gen.synth import synthesize
from gen.synth.stats import memory_role
from rtl.config import AccelConfig

from test_synth import needs_yosys


def test_memory_roles():
    assert memory_role("core.store.bank_3") == "weight_store"
    assert memory_role("core.acc.storage") == "accumulator"
    assert memory_role("store.bank_3") == "weight_store"
    assert memory_role("weight_reader1.fifo.storage") == "front_end"
    assert memory_role("result_writer.lengths.storage") == "front_end"
    assert memory_role("core.tokens.storage") == "other"


@needs_yosys
def test_front_end_reported_apart(tmp_path):
    config = AccelConfig(rows=4, cols=4, interface="axi", max_m=16, max_k=64, max_n=64)
    report = synthesize(config, "ecp5", tmp_path)
    front = report["front_end"]
    assert list(front["modules"]) == ["registers", "counts", "weight_reader0",
                                      "activation_reader", "result_writer"]
    for key in ("luts", "ffs", "brams"):
        assert front["total"][key] == sum(part[key] for part in front["modules"].values())
    assert front["modules"]["registers"]["luts"] > 0
    assert all(part["ffs"] > 0 for part in front["modules"].values())
    # the design's only multipliers are the job's beat counts (the array has none)
    assert report["dsps"] == front["modules"]["counts"]["dsps"] == front["total"]["dsps"]
    assert report["array"]["module"] == "ternary_accel.core.array"
    assert report["weight_path"]["module"] == "ternary_accel.core.store"
    roles = {entry["role"] for entry in report["memories"]}
    assert {"front_end", "accumulator"} <= roles
    # the design holds the core and the front end: more than either alone
    assert report["luts"] > front["total"]["luts"] and report["luts"] > report["array"]["luts"]
    assert report["weight_store"]["banks"] == 4


def test_stream_designs_have_no_front_end():
    from gen.synth.flow import front_end_modules, core_module
    assert front_end_modules(AccelConfig()) == []
    assert core_module(AccelConfig()) == "ternary_accel"
    assert core_module(AccelConfig(interface="axi", name="top")) == "top.core"
