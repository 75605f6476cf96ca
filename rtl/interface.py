"""The two top levels a configuration can have, and what the memory-mapped one derives.

``interface="stream"`` (the default) is :class:`rtl.top.TernaryAccelerator`: a command stream
and three data streams. ``interface="axi"`` is :class:`rtl.axi.top.AxiAccelerator`: the same
core behind AXI4 managers that read the job's images from memory and write its results, and
AXI4-Lite registers. Its ports follow from the configuration: the weight beat ``W`` split into
``ceil(W / 1024)`` weight ports, one data port of ``D`` bits for activations (one activation
row per beat) and results (``D / acc_bits`` results per beat), and read FIFOs that cover a
memory latency of ``read_latency`` cycles. :class:`rtl.config.AccelConfig` calls
:func:`check_axi` and reads the defaults here.
"""

__all__ = ["INTERFACES", "DEFAULT_READ_LATENCY", "MAX_PORT_BITS", "MAX_WEIGHT_PORTS",
           "AXI_DATA_WIDTHS", "default_weight_port_bits", "data_port_bits", "weight_ports",
           "port_bits", "result_lanes", "read_latency", "check_axi"]

#: The top levels.
INTERFACES = ("stream", "axi")
#: Memory latency, in cycles, that the read FIFOs cover when ``read_latency`` is not given.
DEFAULT_READ_LATENCY = 100
#: Widest AXI4 data bus.
MAX_PORT_BITS = 1024
#: Weight ports at most: a weight beat of up to 4096 bits.
MAX_WEIGHT_PORTS = 4
#: AXI4 data widths the core's ports may have.
AXI_DATA_WIDTHS = (32, 64, 128, 256, 512, 1024)


def _axi_weight_widths(config):
    """Legal weight beats of the memory-mapped top: legal ``W`` that are powers of two from 32
    to 4096."""
    return [w for w in config.legal_weight_port_bits
            if w & (w - 1) == 0 and 32 <= w <= MAX_WEIGHT_PORTS * MAX_PORT_BITS]


def default_weight_port_bits(config):
    """The weight beat of a memory-mapped top when ``weight_port_bits`` is not given: the
    widest legal power of two up to 1024 bits (one port), or None if there is none."""
    widths = [w for w in _axi_weight_widths(config) if w <= MAX_PORT_BITS]
    return widths[-1] if widths else None


def data_port_bits(config):
    """``D``: ``config.data_port_bits``, or the activation row (``rows * act_bits``) rounded up
    to a power of two, at least 32 and at least a result."""
    if config.data_port_bits is not None:
        return config.data_port_bits
    need = max(32, config.rows * config.act_bits, config.acc_bits)
    return 1 << (need - 1).bit_length()


def weight_ports(config):
    """AXI4 read ports that carry the weight beat: ``W / 1024`` for wider beats, else 1."""
    return max(1, config.word_bits // MAX_PORT_BITS)


def port_bits(config):
    """Data width of each weight port."""
    return config.word_bits // weight_ports(config)


def result_lanes(config):
    """Results per data beat: ``min(cols, D / acc_bits)``."""
    return min(config.cols, data_port_bits(config) // config.acc_bits)


def read_latency(config):
    return DEFAULT_READ_LATENCY if config.read_latency is None else config.read_latency


def check_axi(config, error, check_int):
    """Refuse a memory-mapped configuration that cannot be built, with ``error(message,
    field=...)`` (:class:`rtl.config.ConfigError`); ``check_int`` is the configuration's integer
    check."""
    widths = _axi_weight_widths(config)
    legal = ", ".join(map(str, widths)) if widths else "none for this shape and format"
    if config.weight_port_bits is None:
        if default_weight_port_bits(config) is None:
            raise error(f"interface='axi' needs a weight beat of a power of two from 32 to "
                        f"1024 bits and this shape has none (legal: {legal})",
                        field="weight_port_bits")
    elif config.weight_port_bits not in widths:
        raise error(f"weight_port_bits must be a power of two from 32 to 4096 with "
                    f"interface='axi', not {config.weight_port_bits}; legal here: {legal}",
                    field="weight_port_bits")
    row = config.rows * config.act_bits
    if row > MAX_PORT_BITS:
        raise error(f"interface='axi' reads one activation row per data beat: {config.rows} "
                    f"rows of {config.act_bits} bits exceed {MAX_PORT_BITS}", field="rows")
    if config.data_port_bits is not None:
        value = config.data_port_bits
        check_int("data_port_bits", value, 32, MAX_PORT_BITS)
        if value not in AXI_DATA_WIDTHS:
            raise error(f"data_port_bits must be a power of two from 32 to 1024, not {value}",
                        field="data_port_bits")
        if value < max(row, config.acc_bits):
            raise error(f"data_port_bits must hold an activation row ({row} bits) and a "
                        f"result ({config.acc_bits} bits), not {value}",
                        field="data_port_bits")
    if config.read_latency is not None:
        check_int("read_latency", config.read_latency, 1, 1 << 16)
    lanes = result_lanes(config)
    if config.result_lanes is not None and config.result_lanes != lanes:
        raise error(f"result_lanes must be {lanes} with interface='axi' (the results of a "
                    f"{data_port_bits(config)}-bit data beat), not {config.result_lanes}",
                    field="result_lanes")
