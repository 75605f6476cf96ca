"""Argument checks of the AXI blocks (rtl/axi), with their exact messages, and the register
map's invariants."""

import pytest

from rtl.axi.burst_plan import BurstPlan, burst_lengths
from rtl.axi.burst_reader import BurstReader
from rtl.axi.burst_writer import BurstWriter
from rtl.axi.register_map import ERROR_CAUSES, register, register_map
from rtl.axi.registers import Registers
from rtl.config import AccelConfig

READER = dict(addr_bits=32, data_bits=64, count_bits=16, depth=600)
WRITER = dict(addr_bits=32, data_bits=64, count_bits=16, depth=256)


@pytest.mark.parametrize("block, arguments, error, message", [
    (BurstReader, dict(READER, data_bits=48), ValueError,
     "data_bits must be a power of two from 32 to 1024, not 48"),
    (BurstReader, dict(READER, data_bits=2048), ValueError,
     "data_bits must be an integer from 32 to 1024, not 2048"),
    (BurstReader, dict(READER, data_bits=64.0), TypeError,
     "data_bits must be an integer, not 64.0"),
    (BurstReader, dict(READER, addr_bits=8), ValueError,
     "addr_bits must be an integer from 12 to 64, not 8"),
    (BurstReader, dict(READER, depth=100), ValueError, "depth must be at least 512, not 100"),
    (BurstReader, dict(READER, data_bits=1024, max_burst=33), ValueError,
     "max_burst must be an integer from 1 to 32, not 33"),
    (BurstWriter, dict(WRITER, depth=255), ValueError, "depth must be at least 256, not 255"),
    (BurstWriter, dict(WRITER, bursts=0), ValueError,
     "bursts must be an integer from 1 to 256, not 0"),
    (BurstPlan, dict(addr_bits=32, data_bits=128, count_bits=8, max_burst=0), ValueError,
     "max_burst must be an integer from 1 to 256, not 0"),
])
def test_block_arguments(block, arguments, error, message):
    with pytest.raises(error) as caught:
        block(**arguments)
    assert str(caught.value) == message


def test_registers_arguments():
    config = AccelConfig(rows=16, cols=16, weight_port_bits=128)
    with pytest.raises(ValueError) as caught:
        Registers(config, data_port_bits=64, weight_ports=3)
    assert str(caught.value) == ("3 weight ports must each take a power of two of at least 32 "
                                 "bits of the 128-bit weight beat")
    with pytest.raises(ValueError) as caught:
        Registers(config, data_port_bits=64, weight_ports=5)
    assert str(caught.value) == "weight_ports must be an integer from 1 to 4, not 5"
    with pytest.raises(TypeError) as caught:
        Registers(None, data_port_bits=64, weight_ports=1)
    assert str(caught.value) == "config must be an AccelConfig, not None"


def test_burst_lengths_by_hand():
    # 64-bit beats: a 4 KiB page holds 512 beats; max_burst 256.
    assert burst_lengths(0xFC0, 20, beat_bytes=8, max_burst=256) == [(0xFC0, 8), (0x1000, 12)]
    assert burst_lengths(0, 600, beat_bytes=8, max_burst=256) == [(0, 256), (2048, 256),
                                                                   (4096, 88)]
    assert burst_lengths(0, 0, beat_bytes=8, max_burst=256) == []


def test_register_map():
    config = AccelConfig(rows=8, cols=8, weight_format="t5", weight_port_bits=64)
    registers = register_map(config, data_port_bits=64, weight_ports=1)
    offsets = [reg.offset for reg in registers]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    assert all(offset % 4 == 0 for offset in offsets)
    for reg in registers:
        bits = [bit for field in reg.fields for bit in range(field.lsb, field.lsb + field.width)]
        assert len(bits) == len(set(bits)) and max(bits) < 32, reg.name
    assert register(registers, "WEIGHTS0_HI").offset == 0x44
    assert register(registers, "INFO_FORMAT").reset == 1 | 1 << 4 | 32 << 8 | 8 << 16
    assert register(registers, "INFO_PORTS").reset == 64 | 64 << 16
    assert [name for name, _ in ERROR_CAUSES.values()] == [
        "none", "size", "address", "busy", "weights_read", "activations_read", "results_write"]


@pytest.mark.parametrize("call, error, message", [
    (lambda: burst_lengths(0xFF8, 3, beat_bytes=16, max_burst=256), ValueError,
     "base must be a multiple of beat_bytes (16), not 4088"),
    (lambda: burst_lengths(0, 3, beat_bytes=16, max_burst=0), ValueError,
     "max_burst must be at least 1, not 0"),
    (lambda: burst_lengths(0, 3.0, beat_bytes=16, max_burst=4), TypeError,
     "count must be an integer, not 3.0"),
])
def test_burst_lengths_arguments(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value) == message


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(read_latency=1.5), TypeError, "read_latency must be an integer, not 1.5"),
    (dict(read_latency=-50), ValueError, "read_latency must be at least 1, not -50"),
    (dict(write_response=-1), ValueError, "write_response must be at least 0, not -1"),
])
def test_axi_job_cycles_arguments(kwargs, error, message):
    from rtl.axi.cycles import axi_job_cycles
    with pytest.raises(error) as caught:
        axi_job_cycles(AccelConfig(rows=4, cols=4, interface="axi"), 1, 4, 4, **kwargs)
    assert str(caught.value) == message
    with pytest.raises(ValueError) as caught:
        axi_job_cycles(AccelConfig(), 1, 4, 4)
    assert str(caught.value) == "config.interface must be 'axi', not 'stream'"


@pytest.mark.parametrize("jobs, launches, error, message", [
    ([], None, ValueError, "jobs must hold at least one (M, K, N)"),
    ([(1, 4, 4), 7], None, TypeError, "jobs[1] must be an (M, K, N) triple, not 7"),
    ([(1, 4, 4), (1, 4)], None, TypeError, "jobs[1] must be an (M, K, N) triple, not (1, 4)"),
    ([(1, 4, 4), (0, 4, 4)], None, ValueError,
     "jobs[1]: M must be an integer from 1 to 256, not 0"),
    (5, None, TypeError, "jobs must be a list of (M, K, N), not int"),
    ([(1, 4, 4)], 5, TypeError, "launches must be a list of cycles, not int"),
    ([(1, 4, 4)] * 2, [0], ValueError, "launches must hold one cycle per job (2), not 1"),
    ([(1, 4, 4)] * 2, [3, 20], ValueError, "launches[0] must be 0 (the first job's start), not 3"),
    ([(1, 4, 4)] * 2, [0, -1], ValueError, "a launch must be at least 0, not -1"),
    ([(1, 4, 4)] * 2, [0, 2.5], TypeError, "a launch must be an integer, not 2.5"),
    # job 0's writer starts in cycle WRITER_START = 4, so a start before cycle 6 is refused
    ([(1, 4, 4)] * 2, [0, 5], ValueError,
     "job 1 starts in cycle 5, before job 0 was handed to the core (cycle 6): the hardware "
     "refuses it"),
])
def test_axi_queue_cycles_arguments(jobs, launches, error, message):
    from rtl.axi.cycles import axi_queue_cycles
    config = AccelConfig(rows=4, cols=4, interface="axi")
    with pytest.raises(error) as caught:
        axi_queue_cycles(config, jobs, launches=launches)
    assert str(caught.value) == message
    # the earliest start, which is also the default
    earliest = axi_queue_cycles(config, [(1, 4, 4)] * 2, launches=[0, 6])
    assert axi_queue_cycles(config, [(1, 4, 4)] * 2) == earliest


def test_registers_need_a_power_of_two_data_port():
    with pytest.raises(ValueError) as caught:
        Registers(AccelConfig(rows=16, cols=16, weight_port_bits=128), data_port_bits=48,
                  weight_ports=1)
    assert str(caught.value) == "data_port_bits must be a power of two from 32 to 1024, not 48"
