"""The on-chip output accumulator: sums the column results of successive K tiles."""

from amaranth import *
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from .checks import check_bool, check_integer


__all__ = ["Accumulator"]


class Accumulator(wiring.Component):
    """Accumulates one vector of ``cols`` column sums per activation row over the K tiles of a
    job, and emits the finished vector on the last K tile.

    Storage is one ``max_m`` x ``(cols * acc_bits)`` ``amaranth.lib.memory.Memory``, one word per
    activation row ``m``, with a synchronous, non-transparent read port. The read is issued two
    cycles before the token arrives and its output registered, so neither the block RAM's
    clock-to-output time nor the write-back shares a cycle with the ``acc_bits`` adder:

    ========  ===================================================================
    cycle     what happens for a token arriving at cycle ``t``
    ========  ===================================================================
    ``t-2``   ``read_m`` addresses the memory
    ``t-1``   the stored sum leaves the memory and is registered
    ``t``     the token (``valid``, ``m``, ``first``, ``last``) and ``psum`` arrive;
              ``stored + psum`` (or ``psum`` alone on ``first``) is computed
    ``t+1``   the registered sum is written back, or, on ``last``, presented on
              ``result``/``result_valid`` instead
    ========  ===================================================================

    Without ``forward``, a row ``m`` must not arrive again before ``t + row_spacing`` (4
    cycles); the accelerator's admission logic guarantees it. So the memory is never read in
    the cycle its word is written, or (with ``forward``) only when the read's value is
    replaced by a forwarded sum; the memory carries the ``no_rw_check`` attribute, which lets
    synthesis map it onto a block RAM without read-during-write logic. With ``forward`` a row may
    arrive on every cycle: the sums of the last three arrivals (registered at ``t+1``,
    ``t+2``, ``t+3``, the ones the memory does not yet return) are kept beside it, and an
    arrival whose row matches one of them adds the most recent instead of the stored sum. The
    matches are compared a cycle ahead (against ``read_m``, which names the arriving row two
    cycles early) and registered, so no comparator sits in front of the adder. The
    accelerator forwards only when its tiles can be shorter than 4 cycles
    (:attr:`rtl.config.AccelConfig.accumulator_forwarding`).

    The accumulator never stalls; the result sink behind it must take ``result`` on every
    cycle ``result_valid`` is high (the accelerator reserves room in its result queue before
    an activation of the last K tile enters the array).

    Members
    -------
    read_m : ``In(range(max_m))``
        The row of the token that arrives two cycles later.
    valid, m, first, last : ``In``
        The arriving token: a real activation row ``m``, of the first and/or last K tile.
    psum : ``In(ArrayLayout(signed(column_bits), cols))``
        The deskewed column sums arriving with the token.
    result_valid : ``Out(1)``, result : ``Out(ArrayLayout(signed(acc_bits), cols))``
        The finished sum of a ``last`` token, registered: 1 cycle after the token.

    Parameters (keyword only)
    -------------------------
    cols : int
        Lanes, at least 1.
    acc_bits : int
        Signed width of a stored sum and of ``result``, at least ``column_bits``.
    column_bits : int
        Signed width of ``psum``, at least 1.
    depth : int
        Rows stored (``max_m``), at least 1.
    forward : bool
        Forward the last three sums (a row may return every cycle); default False.

    Attributes
    ----------
    latency : int
        1: from a token's arrival to its ``result``.
    read_ahead : int
        2: ``read_m`` leads the token by this many cycles (the token pipe taps it there).
    row_spacing : int
        4: without ``forward``, the fewest cycles between two arrivals of one row (the
        read-ahead, the write one cycle after the arrival, and one cycle for the written word
        to be readable): the accelerator's :data:`~rtl.config.ROW_SPACING`.
    """

    latency = 1
    read_ahead = 2
    row_spacing = read_ahead + latency + 1

    def __init__(self, *, cols, acc_bits, column_bits, depth, forward=False):
        check_integer("cols", cols, 1)
        check_integer("acc_bits", acc_bits, 1)
        check_integer("column_bits", column_bits, 1)
        check_integer("depth", depth, 1)
        if acc_bits < column_bits:
            raise ValueError(f"acc_bits must be at least column_bits={column_bits}, "
                             f"not {acc_bits}")
        self.cols = cols
        self.acc_bits = acc_bits
        self.depth = depth
        self.forward = check_bool("forward", forward)
        super().__init__({
            "read_m": In(range(depth)),
            "valid": In(1),
            "m": In(range(depth)),
            "first": In(1),
            "last": In(1),
            "psum": In(data.ArrayLayout(signed(column_bits), cols)),
            "result_valid": Out(1),
            "result": Out(data.ArrayLayout(signed(acc_bits), cols)),
        })

    def elaborate(self, platform):
        m = Module()
        layout = data.ArrayLayout(signed(self.acc_bits), self.cols)
        # A read never needs the word written in its own cycle (see the class docstring), so
        # synthesis is told that a collision is don't-care ("no_rw_check"): without it, yosys
        # delays the write a cycle and adds a bypass multiplexer behind the block RAM (a LUT
        # between its output and ``stored``, and two flip-flops per bit) to keep read-first.
        m.submodules.storage = storage = memory.Memory(shape=unsigned(layout.size),
                                                       depth=self.depth, init=[],
                                                       attrs={"no_rw_check": 1})
        write = storage.write_port()
        read = storage.read_port()
        m.d.comb += read.addr.eq(self.read_m)

        stored = Signal(layout, reset_less=True)
        m.d.sync += stored.eq(read.data)

        total = Signal(layout)
        total_q = Signal(layout, reset_less=True)
        previous = stored
        if self.forward:
            # The sums of the arrivals 1, 2 and 3 cycles ago; the memory returns older ones.
            recent = [(Signal(name=f"valid_{age}"), Signal(range(self.depth), name=f"m_{age}"),
                       total_q if age == 1 else Signal(layout, reset_less=True,
                                                       name=f"total_{age}"))
                      for age in (1, 2, 3)]
            m.d.sync += [recent[0][0].eq(self.valid), recent[0][1].eq(self.m)]
            for (valid, row, value), (older_valid, older_row, older_value) in zip(recent,
                                                                                  recent[1:]):
                m.d.sync += [older_valid.eq(valid), older_row.eq(row), older_value.eq(value)]
            # The matches are compared a cycle ahead, against the arriving row's read_m
            # registered once (read_m leads the token by two cycles), and registered.
            m_ahead = Signal(range(self.depth))
            m.d.sync += m_ahead.eq(self.read_m)
            ahead = [(self.valid, self.m), (recent[0][0], recent[0][1]),
                     (recent[1][0], recent[1][1])]
            hits = [Signal(name=f"hit_{age}") for age in (1, 2, 3)]
            for hit, (valid, row) in zip(hits, ahead):
                m.d.sync += hit.eq(valid & (row == m_ahead))
            previous = Signal(layout)
            m.d.comb += previous.eq(stored)
            for hit, (_, _, value) in reversed(list(zip(hits, recent))):   # most recent wins
                with m.If(hit):
                    m.d.comb += previous.eq(value)
        for n in range(self.cols):
            m.d.comb += total[n].eq(Mux(self.first, 0, previous[n]) + self.psum[n])

        m_q = Signal(range(self.depth))
        write_q = Signal()
        m.d.sync += [
            total_q.eq(total),
            m_q.eq(self.m),
            write_q.eq(self.valid & ~self.last),
            self.result_valid.eq(self.valid & self.last),
        ]
        m.d.comb += [
            write.addr.eq(m_q),
            write.data.eq(total_q.as_value()),
            write.en.eq(write_q),
            self.result.eq(total_q),
        ]
        return m
