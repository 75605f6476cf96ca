"""AXI4 and AXI4-Lite: the facts of the protocol this core uses, and the port signatures.

Signal names are the AMBA ones in lower case (``araddr``, ``rvalid`` ...), so a port ``m_axi``
of a component comes out of the generator as ``m_axi__araddr`` and so on (Amaranth joins a
port's path with ``__``); cocotbext-axi finds them with the prefix ``m_axi_``, and Vivado's
interface inference with the same prefix.

Only what the core drives or reads is in the signatures: AXI4 INCR bursts of the full data
width, no locked or exclusive access, constant ``cache``/``prot`` values
(:data:`READ_CACHE`, :data:`PROT`), one ID.
"""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..checks import check_integer


__all__ = ["MAX_BURST_BEATS", "PAGE_BYTES", "BURST_INCR", "RESP_OKAY", "RESP_EXOKAY",
           "RESP_SLVERR", "RESP_DECERR", "READ_CACHE", "WRITE_CACHE", "PROT", "DATA_WIDTHS",
           "check_data_bits", "read_manager_signature", "write_manager_signature",
           "manager_signature",
           "lite_manager_signature"]

#: An AXI4 INCR burst carries at most 256 beats (``axlen`` 0 .. 255).
MAX_BURST_BEATS = 256
#: A burst never crosses a 4 KiB address boundary.
PAGE_BYTES = 4096
#: ``axburst`` of an incrementing burst.
BURST_INCR = 0b01
#: ``xresp`` codes.
RESP_OKAY, RESP_EXOKAY, RESP_SLVERR, RESP_DECERR = 0b00, 0b01, 0b10, 0b11
#: ``arcache``: normal non-cacheable, modifiable and bufferable (0011), the value Xilinx and
#: Intel DMA engines use for streaming reads.
READ_CACHE = 0b0011
#: ``awcache``: the same for writes.
WRITE_CACHE = 0b0011
#: ``axprot``: data, non-secure, unprivileged access (010).
PROT = 0b010
#: Data widths AXI4 allows, in bits.
DATA_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)


def check_data_bits(name, value):
    """``value`` is an AXI4 data width of at least 32 bits (a power of two up to 1024)."""
    check_integer(name, value, 32, 1024)
    if value not in DATA_WIDTHS:
        raise ValueError(f"{name} must be a power of two from 32 to 1024, not {value}")
    return value


def read_manager_signature(*, addr_bits, data_bits, id_bits=1):
    """The read channels (AR, R) of an AXI4 manager, as the manager sees them: ``arid``,
    ``araddr``, ``arlen`` (8), ``arsize`` (3), ``arburst`` (2), ``arcache`` (4), ``arprot`` (3),
    ``arvalid`` out, ``arready`` in; ``rid``, ``rdata``, ``rresp`` (2), ``rlast``, ``rvalid``
    in, ``rready`` out."""
    return wiring.Signature({
        "arid": Out(id_bits), "araddr": Out(addr_bits), "arlen": Out(8), "arsize": Out(3),
        "arburst": Out(2), "arcache": Out(4), "arprot": Out(3),
        "arvalid": Out(1), "arready": In(1),
        "rid": In(id_bits), "rdata": In(data_bits), "rresp": In(2), "rlast": In(1),
        "rvalid": In(1), "rready": Out(1),
    })


def write_manager_signature(*, addr_bits, data_bits, id_bits=1):
    """The write channels (AW, W, B) of an AXI4 manager, as the manager sees them: ``awid``,
    ``awaddr``, ``awlen``, ``awsize``, ``awburst``, ``awcache``, ``awprot``, ``awvalid`` out,
    ``awready`` in; ``wdata``, ``wstrb`` (``data_bits / 8``), ``wlast``, ``wvalid`` out,
    ``wready`` in; ``bid``, ``bresp``, ``bvalid`` in, ``bready`` out."""
    return wiring.Signature({
        "awid": Out(id_bits), "awaddr": Out(addr_bits), "awlen": Out(8), "awsize": Out(3),
        "awburst": Out(2), "awcache": Out(4), "awprot": Out(3),
        "awvalid": Out(1), "awready": In(1),
        "wdata": Out(data_bits), "wstrb": Out(data_bits // 8), "wlast": Out(1),
        "wvalid": Out(1), "wready": In(1),
        "bid": In(id_bits), "bresp": In(2), "bvalid": In(1), "bready": Out(1),
    })


def manager_signature(*, addr_bits, data_bits, id_bits=1):
    """A whole AXI4 manager port: the read channels of :func:`read_manager_signature` and the
    write channels of :func:`write_manager_signature`."""
    members = dict(read_manager_signature(addr_bits=addr_bits, data_bits=data_bits,
                                          id_bits=id_bits).members)
    members.update(write_manager_signature(addr_bits=addr_bits, data_bits=data_bits,
                                           id_bits=id_bits).members)
    return wiring.Signature(members)


def lite_manager_signature(*, addr_bits, data_bits=32):
    """An AXI4-Lite bus's five channels, as the manager sees them (a subordinate takes it
    ``In``): ``awaddr``, ``awprot``, ``awvalid`` out, ``awready`` in; ``wdata``, ``wstrb``,
    ``wvalid`` out, ``wready`` in; ``bresp``, ``bvalid`` in, ``bready`` out; ``araddr``,
    ``arprot``, ``arvalid`` out, ``arready`` in; ``rdata``, ``rresp``, ``rvalid`` in, ``rready``
    out."""
    return wiring.Signature({
        "awaddr": Out(addr_bits), "awprot": Out(3), "awvalid": Out(1), "awready": In(1),
        "wdata": Out(data_bits), "wstrb": Out(data_bits // 8), "wvalid": Out(1),
        "wready": In(1),
        "bresp": In(2), "bvalid": In(1), "bready": Out(1),
        "araddr": Out(addr_bits), "arprot": Out(3), "arvalid": Out(1), "arready": In(1),
        "rdata": In(data_bits), "rresp": In(2), "rvalid": In(1), "rready": Out(1),
    })
