"""Test-bench pieces of the AXI benches: a read latency in front of cocotbext-axi's memory
models (hardware), the memory they serve and a recorder of bursts (cocotb side).

cocotbext-axi's ``AxiRam`` answers a read burst as soon as it takes the request, one burst
after another. A DRAM answers after a latency, with many bursts in flight. :class:`ReadLatency`
sits between a manager and the model and holds every read request for ``latency`` cycles
(counted from the cycle the manager's request was accepted) before offering it to the model;
with requests queued ahead, the model then returns one beat per cycle ``latency`` cycles (plus
its own two) after each request, which is the memory of the decode figures. It is written in
Amaranth and simulated with the design, so it costs no Python per cycle.
"""

from amaranth import *
from amaranth.lib import data, fifo, wiring
from amaranth.lib.wiring import In, Out

from rtl.axi.bus import read_manager_signature
from rtl.checks import check_integer


__all__ = ["MODEL_READ_DELAY", "BENCH_LATENCY", "ReadLatency", "BenchMemory", "record_bursts",
           "record_starts", "AxiBench", "axi_bench_design"]

#: Cycles cocotbext-axi's read model takes from accepting a request to its first beat: a
#: memory of read latency ``L`` is a :class:`ReadLatency` of ``L - MODEL_READ_DELAY``.
MODEL_READ_DELAY = 2
#: The read latency of the memory of the memory-mapped benches, ``run_gemm(interface="axi")``
#: and the transformer co-simulation on it.
BENCH_LATENCY = 100


class ReadLatency(wiring.Component):
    """Delays the AR channel by ``latency`` cycles; R passes straight through.

    Parameters
    ----------
    addr_bits, data_bits, id_bits : int
        The bus.
    latency : int
        Cycles an accepted request waits, at least 1.
    requests : int
        Requests it holds at once (``arready`` is low when full), at least 2.

    Members
    -------
    manager : ``In(read_manager_signature(...))``
        Faces the manager under test.
    memory : ``Out(read_manager_signature(...))``
        Faces the memory model.
    """

    def __init__(self, *, addr_bits, data_bits, id_bits=1, latency, requests=64):
        self.latency = check_integer("latency", latency, 1)
        self.requests = check_integer("requests", requests, 2)
        signature = read_manager_signature(addr_bits=addr_bits, data_bits=data_bits,
                                           id_bits=id_bits)
        self._request = data.StructLayout({
            "arid": id_bits, "araddr": addr_bits, "arlen": 8, "arsize": 3, "arburst": 2,
            "arcache": 4, "arprot": 3, "stamp": 32})
        super().__init__({"manager": In(signature), "memory": Out(signature)})

    def elaborate(self, platform):
        m = Module()
        manager, memory = self.manager, self.memory
        width = Shape.cast(self._request).width
        m.submodules.queue = queue = fifo.SyncFIFOBuffered(width=width, depth=self.requests)

        now = Signal(32)
        m.d.sync += now.eq(now + 1)

        entering = Signal(self._request)
        leaving = Signal(self._request)
        fields = ("arid", "araddr", "arlen", "arsize", "arburst", "arcache", "arprot")
        m.d.comb += [getattr(entering, name).eq(getattr(manager, name)) for name in fields]
        m.d.comb += [
            entering.stamp.eq(now),
            queue.w_data.eq(entering),
            queue.w_en.eq(manager.arvalid),
            manager.arready.eq(queue.w_rdy),
            leaving.eq(queue.r_data),
        ]
        m.d.comb += [getattr(memory, name).eq(getattr(leaving, name)) for name in fields]
        due = Signal()
        m.d.comb += [
            due.eq(now - leaving.stamp >= self.latency),
            memory.arvalid.eq(queue.r_rdy & due),
            queue.r_en.eq(memory.arvalid & memory.arready),
        ]

        m.d.comb += [
            manager.rid.eq(memory.rid),
            manager.rdata.eq(memory.rdata),
            manager.rresp.eq(memory.rresp),
            manager.rlast.eq(memory.rlast),
            manager.rvalid.eq(memory.rvalid),
            memory.rready.eq(manager.rready),
        ]
        return m


class BenchMemory:
    """The bytes behind cocotbext-axi's ``AxiSlaveRead`` / ``AxiSlaveWrite`` (their
    ``target``): ``content`` (a ``bytearray``); an access that touches ``hole`` (a range of
    addresses) fails, which the models answer with SLVERR."""

    def __init__(self, content, hole=range(0)):
        self.content, self.hole = bytearray(content), hole

    def _check(self, address, length):
        if address < self.hole.stop and self.hole.start < address + length:
            raise ValueError(f"no memory at {address:#x}")

    async def read(self, address, length):
        self._check(address, length)
        return bytes(self.content[address:address + length])

    async def write(self, address, data):
        self._check(address, len(data))
        self.content[address:address + len(data)] = data


async def record_bursts(dut, prefix, bursts):
    """Append ``(address, beats)`` to ``bursts`` for every request taken on the address channel
    whose signals are ``<prefix>addr``, ``<prefix>len``, ``<prefix>valid``, ``<prefix>ready``
    (e.g. ``m_axi__ar``), forever."""
    from cocotb.triggers import ReadOnly, RisingEdge
    valid, ready = getattr(dut, f"{prefix}valid"), getattr(dut, f"{prefix}ready")
    address, length = getattr(dut, f"{prefix}addr"), getattr(dut, f"{prefix}len")
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if valid.value == 1 and ready.value == 1:
            bursts.append((address.value.to_unsigned(), length.value.to_unsigned() + 1))


async def record_starts(dut, control_offset, starts, clock=None):
    """Append to ``starts`` the cycle (rising edges of ``dut.clk`` counted from the call) of
    every write of 1 to ``CONTROL.start`` that the registers take on ``s_axil`` (address and
    data together: the cycle of the launch, when the start is accepted), forever; ``clock``
    (a one-element list), if given, holds the current cycle of that count."""
    from cocotb.triggers import ReadOnly, RisingEdge
    cycle = 0
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        cycle += 1
        if clock is not None:
            clock[0] = cycle
        if (dut.s_axil__awvalid.value == 1 and dut.s_axil__awready.value == 1
                and dut.s_axil__wvalid.value == 1
                and dut.s_axil__awaddr.value.to_unsigned() >> 2 == control_offset >> 2
                and dut.s_axil__wdata.value.to_unsigned() & 1
                and dut.s_axil__wstrb.value.to_unsigned() & 1):
            starts.append(cycle)


class AxiBench(wiring.Component):
    """The generated memory-mapped top (instantiated by its module name, ``config.name``) with
    every read channel behind a :class:`ReadLatency` that makes the memory's latency
    ``latency``; the ports keep the top's names (``s_axil__*``, ``m_axi_w<p>__*``,
    ``m_axi_d__*``, ``irq``)."""

    def __init__(self, config, latency=BENCH_LATENCY):
        from gen.emit import top_level
        self.config = config
        self.latency = latency
        self._top = top_level(config)
        self._top._MustUse__silence = True      # only its signature is used
        super().__init__(dict(self._top.signature.members))

    def elaborate(self, platform):
        from gen import axi
        m = Module()
        top = self._top
        inner = top.signature.create(path=("inner",))
        ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
        for path, member, value in top.signature.flatten(inner):
            name = "__".join(str(part) for part in path)
            ports[("o_" if member.flow == Out else "i_") + name] = value
        m.submodules.top = Instance(self.config.name, **ports)

        wiring.connect(m, wiring.flipped(self.s_axil), inner.s_axil)
        m.d.comb += self.irq.eq(inner.irq)
        read_members = read_manager_signature(addr_bits=12, data_bits=32).members
        buses = [(f"m_axi_w{port}", top.weight_port_bits) for port in range(top.weight_ports)]
        buses.append(("m_axi_d", top.data_port_bits))
        for name, bits in buses:
            core, outside = getattr(inner, name), getattr(self, name)
            delay = ReadLatency(addr_bits=axi.ADDR_BITS, data_bits=bits,
                                latency=self.latency - MODEL_READ_DELAY)
            m.submodules[f"{name}_latency"] = delay
            for member, port in top.signature.members[name].signature.members.items():
                if member in read_members:
                    near, far = delay.manager, delay.memory
                    if port.flow == Out:
                        m.d.comb += [getattr(near, member).eq(getattr(core, member)),
                                     getattr(outside, member).eq(getattr(far, member))]
                    else:
                        m.d.comb += [getattr(core, member).eq(getattr(near, member)),
                                     getattr(far, member).eq(getattr(outside, member))]
                elif port.flow == Out:
                    m.d.comb += getattr(outside, member).eq(getattr(core, member))
                else:
                    m.d.comb += getattr(core, member).eq(getattr(outside, member))
        return m


def axi_bench_design(config, latency=BENCH_LATENCY):
    """``(verilog, toplevel)``: the generated design (:func:`gen.emit.emit_verilog`) and the
    :class:`AxiBench` wrapper around it, module ``axi_bench``."""
    from gen.emit import emit_module, emit_verilog
    wrapper = emit_module(AxiBench(config, latency), "axi_bench")
    return emit_verilog(config) + "\n" + wrapper, "axi_bench"
