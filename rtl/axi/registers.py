"""The AXI4-Lite control and status registers of the memory-mapped top."""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..checks import check_config, check_integer
from .bus import RESP_OKAY, RESP_SLVERR, check_data_bits, lite_manager_signature
from .register_map import ADDRESS_BITS, ERROR_CAUSES, MAX_WEIGHT_PORTS, register_map


__all__ = ["Registers", "CAUSE"]

#: Error cause codes by name (``ERROR_CAUSES``).
CAUSE = {name: code for code, (name, _) in ERROR_CAUSES.items()}


class Registers(wiring.Component):
    """The registers of :func:`~rtl.axi.register_map.register_map` behind an AXI4-Lite
    subordinate, and the checks of a start.

    Writing 1 to ``CONTROL.start`` checks the job registers: a size of 0 or above the design's
    maximum (the registers keep all 32 bits) is refused with cause ``size``; a base address of
    0 or not a multiple of its port's beat, cause ``address``. From idle, a refusal sets
    ``STATUS.error`` and ``cause`` and ``IRQ_STATUS.ended`` and touches no memory; otherwise
    ``launch`` pulses for one cycle with the job on ``m``, ``k``, ``n`` and the addresses,
    ``STATUS`` clears ``done``, ``error``, ``cause``, ``resp``, ``dropped`` and sets ``busy``.

    While a job runs, a start queues the next job behind it, if no job is queued yet and the
    top can take one (``can_queue``): the same checks, then ``launch`` and ``STATUS.queued``;
    the running job's status and the interrupt are untouched. A refusal while busy (those
    checks, or cause ``busy``: a job is queued already, or the top cannot take one yet) only
    sets ``STATUS.refused`` and ``refusal``. Software may write the next job's registers as
    soon as ``launch`` has copied them (the write after the start's response).

    ``job_done`` or ``job_failed`` (one-cycle pulses, ``fail_cause`` and ``fail_resp`` with a
    failure, in the cycle after the running job ended: registered by the top) end it: ``done``
    or ``error`` with ``cause`` and ``resp``, ``IRQ_STATUS.ended``, ``JOBS`` counts it, and
    ``CYCLES`` takes the cycles from the job's launch, or from the end of the job before it if
    it was queued (or launched in the cycle of that job's pulse), to its end. After a job
    done, a queued job (or one launched in that very cycle) is the running one and ``busy``
    stays high; a failure ends a queued job too (``dropped``), never run (a job launched in
    the failure's pulse cycle runs). ``FAILURES`` counts failed jobs and keeps the last one's
    cause and response, which no start clears (a start from idle right after a failure clears
    ``STATUS.error``: software that queues jobs reads ``FAILURES``). ``irq`` is
    ``IRQ_STATUS.ended & CONTROL.irq_enable``, a register.

    The bus takes a write when its address and data are both valid (``awready`` and
    ``wready`` rise together), answers each access in the next cycle and holds the response
    until taken; one access of each kind at a time. Byte strobes apply to every read-write
    field. An address outside the map is answered with SLVERR (reads return 0); the low two
    address bits are ignored.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig`
    data_port_bits : int
        Width of the activation and result port (addresses must be multiples of its bytes).
    weight_ports : int
        Weight ports, 1 to 4, each ``weight_port_bits / weight_ports`` bits wide.

    Members
    -------
    bus : ``In(lite_manager_signature(addr_bits=8))``
        The AXI4-Lite subordinate port.
    launch : ``Out(1)``
        A job starts (one cycle).
    m, k, n : ``Out``
        The job's sizes (the registers).
    activations, results : ``Out(64)``; weights : ``Out(ArrayLayout(64, weight_ports))``
        The base addresses (the registers).
    job_done, job_failed : ``In(1)``; fail_cause : ``In(4)``; fail_resp : ``In(2)``
        The running job ended in the cycle before (one-cycle pulses).
    can_queue : ``In(1)``
        The top can take a job behind the running one this cycle.
    busy : ``Out(1)``
        ``STATUS.busy`` (register).
    irq : ``Out(1)``
    """

    def __init__(self, config, *, data_port_bits, weight_ports):
        self.config = check_config(config)
        self.data_port_bits = check_data_bits("data_port_bits", data_port_bits)
        self.weight_ports = check_integer("weight_ports", weight_ports, 1, MAX_WEIGHT_PORTS)
        port_bits, rest = divmod(config.word_bits, weight_ports)
        if rest or port_bits < 32 or port_bits & (port_bits - 1):
            raise ValueError(f"{weight_ports} weight ports must each take a power of two of at "
                             f"least 32 bits of the {config.word_bits}-bit weight beat")
        self.map = register_map(config, data_port_bits=data_port_bits,
                                weight_ports=weight_ports)
        super().__init__({
            "bus": In(lite_manager_signature(addr_bits=ADDRESS_BITS)),
            "launch": Out(1),
            "m": Out(config.m_bits), "k": Out(config.k_bits), "n": Out(config.n_bits),
            "activations": Out(64), "results": Out(64),
            "weights": Out(data.ArrayLayout(64, weight_ports)),
            "job_done": In(1), "job_failed": In(1), "fail_cause": In(4), "fail_resp": In(2),
            "can_queue": In(1),
            "busy": Out(1),
            "irq": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, bus = self.config, self.bus

        # One signal per field; read-write and write-1-to-clear fields are registers.
        fields = {}
        for reg in self.map:
            for field in reg.fields:
                fields[reg.name, field.name] = Signal(field.width, init=field.reset,
                                                      name=f"{reg.name.lower()}_{field.name}")
        status = {name: fields["STATUS", name]
                  for name in ("busy", "done", "error", "refused", "cause", "resp", "queued",
                               "dropped", "refusal")}
        cycles = Signal(64)             # CYCLES: the last job that ended
        elapsed = Signal(64)            # the running job's, so far
        jobs = fields["JOBS", "jobs"]
        failures = {name: fields["FAILURES", name] for name in ("failed", "cause", "resp")}
        m.d.comb += [
            fields["CYCLES_LO", "cycles"].eq(cycles[:32]),
            fields["CYCLES_HI", "cycles"].eq(cycles[32:]),
            self.busy.eq(status["busy"]),
            self.m.eq(fields["M", "m"][:cfg.m_bits]), self.k.eq(fields["K", "k"][:cfg.k_bits]),
            self.n.eq(fields["N", "n"][:cfg.n_bits]),
        ]

        def address(name):
            return Cat(fields[f"{name}_LO", "address"], fields[f"{name}_HI", "address"])

        m.d.comb += [self.activations.eq(address("ACTIVATIONS")),
                     self.results.eq(address("RESULTS"))]
        m.d.comb += [self.weights[port].eq(address(f"WEIGHTS{port}"))
                     for port in range(self.weight_ports)]
        for reg in self.map:       # read-only constants
            for field in reg.fields:
                if reg.name.startswith("INFO") or reg.name == "ID":
                    m.d.comb += fields[reg.name, field.name].eq(field.reset)

        # Writes: address and data together, the response in the next cycle.
        write = Signal()
        write_index = Signal(ADDRESS_BITS - 2)
        start = Signal()
        m.d.comb += [
            write.eq(bus.awvalid & bus.wvalid & ~bus.bvalid),
            bus.awready.eq(write),
            bus.wready.eq(write),
            write_index.eq(bus.awaddr[2:]),
        ]
        mask = Cat(bus.wstrb[byte].replicate(8) for byte in range(4))
        with m.If(bus.bvalid & bus.bready):
            m.d.sync += bus.bvalid.eq(0)
        with m.If(write):
            m.d.sync += [bus.bvalid.eq(1), bus.bresp.eq(RESP_SLVERR)]
            with m.Switch(write_index):
                for reg in self.map:
                    with m.Case(reg.offset >> 2):
                        m.d.sync += bus.bresp.eq(RESP_OKAY)
                        for field in reg.fields:
                            bits = slice(field.lsb, field.lsb + field.width)
                            signal = fields[reg.name, field.name]
                            if field.access == "rw":
                                merged = (signal & ~mask[bits]) | (bus.wdata[bits] & mask[bits])
                                m.d.sync += signal.eq(merged)
                            elif field.access == "wo":
                                m.d.comb += start.eq(bus.wdata[field.lsb] & bus.wstrb[0])
                            elif field.access == "w1c":
                                with m.If(bus.wdata[field.lsb] & bus.wstrb[0]):
                                    m.d.sync += signal.eq(0)

        # Reads: the response in the next cycle, held until taken.
        with m.If(bus.rvalid & bus.rready):
            m.d.sync += bus.rvalid.eq(0)
        m.d.comb += bus.arready.eq(~bus.rvalid)
        with m.If(bus.arvalid & bus.arready):
            m.d.sync += [bus.rvalid.eq(1), bus.rdata.eq(0), bus.rresp.eq(RESP_SLVERR)]
            with m.Switch(bus.araddr[2:]):
                for reg in self.map:
                    with m.Case(reg.offset >> 2):
                        value = 0
                        for field in reg.fields:
                            if field.access != "wo":
                                value = value | (fields[reg.name, field.name] << field.lsb)
                        m.d.sync += [bus.rdata.eq(value), bus.rresp.eq(RESP_OKAY)]

        # A start: refused (busy, size, address) or launched.
        beat = self.data_port_bits // 8
        weight_beat = cfg.word_bits // self.weight_ports // 8
        sizes_bad = Signal()
        addresses_bad = Signal()
        # Registers of the job registers' values a cycle before: a start comes at least two
        # cycles after the write before it (a write is answered in the next cycle and the next
        # one waits for that answer to be taken), so they are never stale when read.
        sizes = [(fields["M", "m"], cfg.max_m), (fields["K", "k"], cfg.max_k),
                 (fields["N", "n"], cfg.max_n)]
        m.d.sync += sizes_bad.eq(Cat(*((value == 0) | (value > limit)
                                       for value, limit in sizes)).any())
        bad = [(self.activations == 0) | (self.activations[:beat.bit_length() - 1] != 0),
               (self.results == 0) | (self.results[:beat.bit_length() - 1] != 0)]
        bad += [(self.weights[port] == 0)
                | (self.weights[port][:weight_beat.bit_length() - 1] != 0)
                for port in range(self.weight_ports)]
        m.d.sync += addresses_bad.eq(Cat(*bad).any())

        ended = fields["IRQ_STATUS", "ended"]
        busy, queued = status["busy"], status["queued"]
        refuse = Signal()
        cause = Signal(4)
        with m.If(start):
            with m.If(busy & (queued | ~self.can_queue)):
                m.d.comb += [refuse.eq(1), cause.eq(CAUSE["busy"])]
            with m.Elif(sizes_bad):
                m.d.comb += [refuse.eq(1), cause.eq(CAUSE["size"])]
            with m.Elif(addresses_bad):
                m.d.comb += [refuse.eq(1), cause.eq(CAUSE["address"])]
            with m.Else():
                m.d.comb += self.launch.eq(1)
        with m.If(refuse & busy):                        # the running job's status untouched
            m.d.sync += [status["refused"].eq(1), status["refusal"].eq(cause)]
        with m.Elif(refuse):
            m.d.sync += [status["error"].eq(1), status["done"].eq(0),
                         status["cause"].eq(cause), ended.eq(1)]
        with m.If(self.launch):
            m.d.sync += [status["refused"].eq(0), status["refusal"].eq(CAUSE["none"])]
        behind = Signal()                                # a job launched behind the running one
        m.d.comb += behind.eq(self.launch & busy)
        with m.If(self.launch & ~busy):
            m.d.sync += [busy.eq(1), status["done"].eq(0), status["error"].eq(0),
                         status["cause"].eq(CAUSE["none"]), status["resp"].eq(0),
                         status["dropped"].eq(0), elapsed.eq(0)]
        with m.Elif(busy):
            m.d.sync += elapsed.eq(elapsed + 1)
            with m.If(self.job_done | self.job_failed):
                # the job ended in the cycle before: its cycles are ``elapsed`` now, and a
                # job that goes on from there has run one cycle already
                m.d.sync += [cycles.eq(elapsed), elapsed.eq(1), jobs.eq(jobs + 1),
                             ended.eq(1), queued.eq(0)]
            with m.If(self.job_done):
                m.d.sync += [busy.eq(queued | behind), status["done"].eq(1),
                             status["error"].eq(0), status["cause"].eq(CAUSE["none"]),
                             status["resp"].eq(0)]
            with m.Elif(self.job_failed):
                # a job launched in this very cycle is the next one (the top was idle); one
                # queued before was dropped by the failure
                m.d.sync += [busy.eq(behind), status["done"].eq(0), status["error"].eq(1),
                             status["cause"].eq(self.fail_cause),
                             status["resp"].eq(self.fail_resp),
                             status["dropped"].eq(queued),
                             failures["failed"].eq(failures["failed"] + 1),
                             failures["cause"].eq(self.fail_cause),
                             failures["resp"].eq(self.fail_resp)]
            with m.Elif(behind):
                m.d.sync += queued.eq(1)
        m.d.sync += self.irq.eq(ended & fields["CONTROL", "irq_enable"])
        return m
