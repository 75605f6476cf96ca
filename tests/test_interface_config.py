"""AccelConfig's interface fields: the memory-mapped top's defaults (rtl/interface.py), the
refusals with their exact messages, and the identity of stream configurations (their digest
and as_dict do not change with the option)."""

import pytest

from rtl import interface
from rtl.config import AccelConfig, ConfigError, ConfigTypeError


def test_stream_configuration_keeps_its_identity():
    config = AccelConfig(rows=64, cols=64, weight_format="t5", weight_port_bits=1024)
    assert "interface" not in config.as_dict() and "data_port_bits" not in config.as_dict()
    # digests written down before the option existed
    assert AccelConfig().digest == "ca56658b80c6d000"
    assert config.digest == "59cf9fd7ee3e9676"


@pytest.mark.parametrize("fields, word, ports, port, data, lanes", [
    # 8x8 i2: legal W = 16k; powers of two 32, 64, 128 -> 128; D = 64 bits: 2 results
    (dict(rows=8, cols=8), 128, 1, 128, 64, 2),
    # 64x64 t5: legal powers of two 512 and 1024 -> 1024; D = 512: 16 results
    (dict(rows=64, cols=64, weight_format="t5"), 1024, 1, 1024, 512, 16),
    # a 2048-bit beat: two ports of 1024
    (dict(rows=32, cols=32, weight_port_bits=2048), 2048, 2, 1024, 256, 8),
    # 4x4: W = 32 (whole tile); D = max(32, 32, acc 32) = 32: one result per beat
    (dict(rows=4, cols=4, acc_bits=24, max_k=1000), 32, 1, 32, 32, 1),
    (dict(rows=8, cols=8, data_port_bits=512), 128, 1, 128, 512, 8),
])
def test_axi_defaults(fields, word, ports, port, data, lanes):
    config = AccelConfig(interface="axi", **fields)
    assert config.word_bits == word
    assert interface.weight_ports(config) == ports and interface.port_bits(config) == port
    assert interface.data_port_bits(config) == data
    assert config.result_beat_lanes == lanes
    assert interface.read_latency(config) == 100
    values = config.as_dict()
    assert values["interface"] == "axi" and values["data_port_bits"] == data
    assert values["read_latency"] == 100
    assert AccelConfig(**values) == AccelConfig(**values) and \
        AccelConfig(**values).digest == config.digest


@pytest.mark.parametrize("fields, error, field, message", [
    (dict(interface="usb"), ConfigError, "interface",
     "interface must be 'stream' or 'axi', not 'usb'"),
    (dict(data_port_bits=64), ConfigError, "data_port_bits",
     "data_port_bits applies to interface='axi' only, not 'stream'"),
    (dict(read_latency=10), ConfigError, "read_latency",
     "read_latency applies to interface='axi' only, not 'stream'"),
    (dict(interface="axi", rows=2, cols=2), ConfigError, "weight_port_bits",
     "interface='axi' needs a weight beat of a power of two from 32 to 1024 bits and this "
     "shape has none (legal: none for this shape and format)"),
    # t5 on 8x8: legal W are 16, 32, 40, 56, 64, 80, 96, 104; 40 is not a power of two
    (dict(interface="axi", weight_port_bits=40, rows=8, cols=8, weight_format="t5"),
     ConfigError, "weight_port_bits",
     "weight_port_bits must be a power of two from 32 to 4096 with interface='axi', not 40; "
     "legal here: 32, 64"),
    (dict(interface="axi", weight_port_bits=16, rows=8, cols=8, weight_format="t5"),
     ConfigError, "weight_port_bits",
     "weight_port_bits must be a power of two from 32 to 4096 with interface='axi', not 16; "
     "legal here: 32, 64"),
    (dict(interface="axi", rows=256, cols=8), ConfigError, "rows",
     "interface='axi' reads one activation row per data beat: 256 rows of 8 bits exceed 1024"),
    (dict(interface="axi", data_port_bits=96), ConfigError, "data_port_bits",
     "data_port_bits must be a power of two from 32 to 1024, not 96"),
    (dict(interface="axi", data_port_bits=2048), ConfigError, "data_port_bits",
     "data_port_bits must be an integer from 32 to 1024, not 2048"),
    (dict(interface="axi", rows=16, cols=16, data_port_bits=64), ConfigError,
     "data_port_bits",
     "data_port_bits must hold an activation row (128 bits) and a result (32 bits), not 64"),
    (dict(interface="axi", read_latency=0), ConfigError, "read_latency",
     "read_latency must be an integer from 1 to 65536, not 0"),
    (dict(interface="axi", read_latency="100"), ConfigTypeError, "read_latency",
     "read_latency must be an integer from 1 to 65536, not '100'"),
    (dict(interface="axi", result_lanes=8), ConfigError, "result_lanes",
     "result_lanes must be 2 with interface='axi' (the results of a 64-bit data beat), not 8"),
])
def test_axi_refusals(fields, error, field, message):
    with pytest.raises(error) as caught:
        AccelConfig(**fields)
    assert str(caught.value) == message
    assert caught.value.field == field
