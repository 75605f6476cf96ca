"""The memory-mapped accelerator: the stream top behind AXI4 managers and AXI4-Lite registers."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import interface
from ..checks import check_bool, check_config, check_integer
from ..top import TernaryAccelerator
from .burst_reader import BurstReader
from .burst_writer import BurstWriter
from .job_counts import SETUP_CYCLES, JobCounts
from .bus import (MAX_BURST_BEATS, PAGE_BYTES, lite_manager_signature, manager_signature,
                  read_manager_signature)
from .register_map import ADDRESS_BITS
from .registers import CAUSE, Registers


__all__ = ["AxiAccelerator", "SETUP_CYCLES", "WRITER_BURSTS", "max_burst"]

#: Bursts the result writer may have in flight (issued, response not yet received).
WRITER_BURSTS = 4
def max_burst(bits):
    """Longest burst of a port of ``bits``: 256 beats, or the beats of a 4 KiB page."""
    return min(MAX_BURST_BEATS, PAGE_BYTES // (bits // 8))


class AxiAccelerator(wiring.Component):
    """The accelerator as a memory-mapped IP: software writes a job's sizes and the base
    addresses of its weight, activation and result images (``golden.memory_image``) into the
    registers (:mod:`rtl.axi.register_map`) and starts it; the core reads the images through AXI4
    managers, writes the results back and raises ``irq``.

    Inside, the stream top (:class:`~rtl.top.TernaryAccelerator`) is fed by a
    :class:`~rtl.axi.burst_reader.BurstReader` per weight port (their beats side by side make a
    weight beat) and one for the activations (the job's activation image, read once per N
    tile without a pause), and drained by a :class:`~rtl.axi.burst_writer.BurstWriter` of the
    result image. The readers keep enough reads in flight, so with a memory
    of that latency the weight stream runs at one beat per cycle (``config.read_latency``).

    A job: ``Registers.launch`` copies its sizes and addresses into a slot, then
    :data:`SETUP_CYCLES` cycles compute its beat counts. Each reader starts it as soon as it
    has issued every request of the job before (at once when idle), the writer when the job
    before has ended and every reader has started it (a cycle after the readers at the
    earliest), and the core a cycle after the writer. So a job started while another
    runs (the queue, ``STATUS.queued``) has its weights and activations streaming in behind
    that job's while the core still computes and drains it. A job ends when the core has
    produced its last result and the writer has every write response (``STATUS.done``).

    An error response to the running job's reads or writes aborts every engine (a queued job's
    reads too: the queued job is dropped), holds the core in reset until every burst in flight
    has finished, and ends the job with the cause of the first error seen (``STATUS.error``);
    the core is then ready for the next job. An error response to a queued job's reads ends
    only that reader's transfer: the running job goes on, and the queued job fails with its
    cause in the cycle after it is handed over. A reset at any time leaves it idle.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig`
        With ``interface="axi"``: its weight beat, data port and read latency
        (:mod:`rtl.interface`).
    addr_bits : int
        Address width of the managers, 12 to 64.
    instantiate_pes : bool
        As :class:`~rtl.top.TernaryAccelerator`.

    Members
    -------
    s_axil : ``In(lite_manager_signature(addr_bits=8))``
        The registers.
    m_axi_w0 .. m_axi_w<P-1> : ``Out(read_manager_signature(...))``
        The weight ports, ``weight_port_bits`` each (read only).
    m_axi_d : ``Out(manager_signature(...))``
        Activations (read) and results (write), ``data_port_bits`` wide.
    irq : ``Out(1)``
        ``IRQ_STATUS.ended & CONTROL.irq_enable``.
    """

    def __init__(self, config, *, addr_bits=64, instantiate_pes=False):
        self.config = check_config(config)
        if config.interface != "axi":
            raise ValueError(f"config.interface must be 'axi', not {config.interface!r}")
        self.addr_bits = check_integer("addr_bits", addr_bits, 12, 64)
        self.instantiate_pes = check_bool("instantiate_pes", instantiate_pes)
        self.weight_ports = interface.weight_ports(config)
        self.weight_port_bits = interface.port_bits(config)
        self.data_port_bits = interface.data_port_bits(config)
        members = {"s_axil": In(lite_manager_signature(addr_bits=ADDRESS_BITS))}
        for port in range(self.weight_ports):
            members[f"m_axi_w{port}"] = Out(read_manager_signature(
                addr_bits=addr_bits, data_bits=self.weight_port_bits))
        members["m_axi_d"] = Out(manager_signature(addr_bits=addr_bits,
                                                   data_bits=self.data_port_bits))
        members["irq"] = Out(1)
        super().__init__(members)

    def _reader_depth(self, bits):
        return BurstReader.depth_for_latency(interface.read_latency(self.config),
                                             max_burst(bits))

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        ports, port_bits, data_bits = self.weight_ports, self.weight_port_bits, self.data_port_bits

        m.submodules.registers = regs = Registers(cfg, data_port_bits=data_bits,
                                                  weight_ports=ports)
        wiring.connect(m, wiring.flipped(self.s_axil), regs.bus)
        m.d.comb += self.irq.eq(regs.irq)

        core_reset = Signal()
        accel = TernaryAccelerator(cfg, instantiate_pes=self.instantiate_pes)
        m.submodules.core = ResetInserter(core_reset)(accel)

        # ---- the slot: the job launched last, until the writer and the core take it -----------
        # (its sizes and addresses copied at the launch, when software may go on to write the
        # next job's; the beat counts follow SETUP_CYCLES later, with ``go``)
        pending = Signal()
        counts_ready = Signal()
        weight_bases = [Signal(64, name=f"weights{port}_base") for port in range(ports)]
        activation_base = Signal(64)
        result_base = Signal(64)
        size = {name: Signal(len(getattr(regs, name)), name=f"job_{name}") for name in "mkn"}
        with m.If(regs.launch):
            m.d.sync += [base.eq(regs.weights[port]) for port, base in enumerate(weight_bases)]
            m.d.sync += [activation_base.eq(regs.activations), result_base.eq(regs.results)]
            m.d.sync += [size[name].eq(getattr(regs, name)) for name in "mkn"]

        # ---- the job's beat counts, SETUP_CYCLES after the launch (held until the next; the
        #      sizes read from the registers in the launch's cycle and the next, before software
        #      can write them again) ---------------------------------------------------------
        m.submodules.counts = counts = JobCounts(cfg)
        m.d.comb += counts.start.eq(regs.launch)
        m.d.comb += [getattr(counts, name).eq(getattr(regs, name)) for name in "mkn"]
        go = counts.go
        weight_beats, act_beats = counts.weight_beats, counts.activation_beats
        n_tiles, result_beats = counts.activation_passes, counts.result_beats
        slot_ready = Signal()
        m.d.comb += slot_ready.eq(pending & (go | counts_ready))

        # ---- the engines ---------------------------------------------------------------------
        abort = Signal()
        weight_readers = []
        for port in range(ports):
            reader = BurstReader(addr_bits=self.addr_bits, data_bits=port_bits,
                                 count_bits=len(weight_beats),
                                 depth=self._reader_depth(port_bits))
            m.submodules[f"weight_reader{port}"] = reader
            wiring.connect(m, reader.axi, wiring.flipped(getattr(self, f"m_axi_w{port}")))
            m.d.comb += [reader.base.eq(weight_bases[port]),
                         reader.count.eq(weight_beats), reader.passes.eq(1),
                         reader.abort.eq(abort)]
            weight_readers.append(reader)

        data_port = self.m_axi_d
        activation_reader = BurstReader(addr_bits=self.addr_bits, data_bits=data_bits,
                                        count_bits=len(act_beats),
                                        depth=self._reader_depth(data_bits),
                                        pass_bits=len(n_tiles))
        result_writer = BurstWriter(addr_bits=self.addr_bits, data_bits=data_bits,
                                    count_bits=len(result_beats),
                                    depth=2 * max_burst(data_bits), bursts=WRITER_BURSTS)
        m.submodules.activation_reader = activation_reader
        m.submodules.result_writer = result_writer
        # the reader takes the data port's read channels, the writer its write channels
        for bus in (activation_reader.axi, result_writer.axi):
            for name, member in bus.signature.members.items():
                if member.flow == Out:
                    m.d.comb += getattr(data_port, name).eq(getattr(bus, name))
                else:
                    m.d.comb += getattr(bus, name).eq(getattr(data_port, name))
        m.d.comb += [
            activation_reader.base.eq(activation_base),
            activation_reader.count.eq(act_beats), activation_reader.passes.eq(n_tiles),
            activation_reader.abort.eq(abort),
            result_writer.base.eq(result_base),
            result_writer.count.eq(result_beats), result_writer.abort.eq(abort),
        ]

        # ---- the streams between the engines and the core ------------------------------------
        all_valid = Cat(reader.data.valid for reader in weight_readers).all()
        m.d.comb += [
            accel.weights.payload.eq(Cat(reader.data.payload for reader in weight_readers)),
            accel.weights.valid.eq(all_valid),
        ]
        m.d.comb += [reader.data.ready.eq(accel.weights.ready & all_valid)
                     for reader in weight_readers]
        m.d.comb += [
            accel.activations.payload.as_value().eq(
                activation_reader.data.payload[:cfg.rows * cfg.act_bits]),
            accel.activations.valid.eq(activation_reader.data.valid),
            activation_reader.data.ready.eq(accel.activations.ready),
            result_writer.data.payload.eq(accel.results.payload.as_value()),
            result_writer.data.valid.eq(accel.results.valid),
            accel.results.ready.eq(result_writer.data.ready),
        ]

        # ---- the readers take the slot's job as soon as they have issued every burst of the
        #      job before: a job queued behind the running one streams into their FIFOs right
        #      behind that one's beats, while the core still works on that one --------------
        readers = [*weight_readers, activation_reader]
        taken = Signal(len(readers))          # readers that have started the slot's job
        reader_starts = Cat(slot_ready & ~taken[i] & reader.next_ready   # never with abort
                            for i, reader in enumerate(readers))
        m.d.comb += [reader.start.eq(reader_starts[i]) for i, reader in enumerate(readers)]
        m.d.sync += taken.eq(taken | reader_starts)
        with m.If(go):
            m.d.sync += counts_ready.eq(1)
        with m.If(regs.launch):
            m.d.sync += [pending.eq(1), counts_ready.eq(0), taken.eq(0)]
        # the writer and the core take it when the job before it has ended and every reader
        # has started it (a register: the readers' start decisions reach no further)
        front_go = Signal()
        m.d.comb += front_go.eq(slot_ready & taken.all())

        # ---- the job's control ----------------------------------------------------------------
        engines = [*readers, result_writer]
        engines_busy = Cat(engine.busy for engine in engines).any()
        # The running job's errors: a reader that has started the queued job answers for the
        # running one's late beats with previous_resp (its resp is the queued job's, which
        # fails that job once it is handed over, when the slot is no longer pending). The
        # readers' errors are registered (seen a cycle later while the job runs: the
        # starved core waits); the writer's is seen at once, since it can come with the
        # job's last response, in the cycle the job would end.
        read_failure = Signal()
        read_cause = Signal(4)
        read_resp = Signal(2)
        codes = [(Mux(taken[i] & pending, reader.previous_resp, reader.resp),
                  "weights_read" if i < ports else "activations_read")
                 for i, reader in enumerate(readers)]
        for code, name in reversed(codes):
            with m.If(code != 0):
                m.d.comb += [read_failure.eq(1), read_cause.eq(CAUSE[name]),
                             read_resp.eq(code)]
        read_failed = Signal()
        read_failed_cause = Signal(4)
        read_failed_resp = Signal(2)
        m.d.sync += [read_failed.eq(0),     # a read error of the running job, seen in "run"
                     read_failed_cause.eq(read_cause), read_failed_resp.eq(read_resp)]
        write_failed = Signal()
        m.d.comb += write_failed.eq(result_writer.resp != 0)
        failed_cause = Signal(4)        # the first error's, kept through the drain
        failed_resp = Signal(2)
        core_finished = Signal()
        m.d.comb += [accel.cmd.payload.m.eq(size["m"]), accel.cmd.payload.k.eq(size["k"]),
                     accel.cmd.payload.n.eq(size["n"])]

        def take_front():
            m.d.comb += result_writer.start.eq(1)
            m.d.sync += [core_finished.eq(0), pending.eq(0)]
            m.next = "start"

        # The end of a job reaches the registers a cycle later, as registered pulses (they
        # count CYCLES accordingly): the end's conditions fan out into the status bits there.
        job_done = Signal()
        job_failed = Signal()
        m.d.sync += [job_done.eq(0), job_failed.eq(0)]
        m.d.comb += [regs.job_done.eq(job_done), regs.job_failed.eq(job_failed),
                     regs.fail_cause.eq(failed_cause), regs.fail_resp.eq(failed_resp)]
        with m.FSM() as fsm:
            with m.State("idle"):
                with m.If(front_go):
                    take_front()
            with m.State("start"):
                # The writer started last cycle; the core takes its command now (an error is
                # acted on from the next state).
                m.d.comb += accel.cmd.valid.eq(1)
                with m.If(accel.cmd.ready):
                    m.next = "run"
            with m.State("run"):
                m.d.sync += read_failed.eq(read_failure)
                with m.If(accel.done):
                    m.d.sync += core_finished.eq(1)
                with m.If(read_failed | write_failed):
                    m.d.sync += [
                        failed_cause.eq(Mux(read_failed, read_failed_cause,
                                            CAUSE["results_write"])),
                        failed_resp.eq(Mux(read_failed, read_failed_resp, result_writer.resp)),
                    ]
                    m.d.sync += [abort.eq(1), core_reset.eq(1)]
                    m.next = "abort"
                with m.Elif(core_finished & ~result_writer.busy):
                    m.d.sync += job_done.eq(1)
                    with m.If(front_go):
                        take_front()
                    with m.Else():
                        m.next = "idle"
            with m.State("abort"):      # abort and core_reset: registers, set on the way in
                m.d.sync += abort.eq(0)
                m.d.sync += pending.eq(0)                # a queued job is dropped
                m.next = "drain"
            with m.State("drain"):
                with m.If(~engines_busy):
                    m.d.sync += core_reset.eq(0)
                    m.d.sync += job_failed.eq(1)
                    m.next = "idle"
        m.d.comb += regs.can_queue.eq(~pending & (fsm.ongoing("idle") | fsm.ongoing("run")))
        return m
