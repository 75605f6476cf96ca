"""The accelerator top level: command interface, weight/activation/result streams, and the
sequencer that keeps the array fed."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .accumulator import Accumulator
from .array import SystolicArray, weight_shape
from .config import ROW_SPACING, AccelConfig
from .decoder import WeightDecoder
from .pe_int8 import Int8WeightLanes
from .result_queue import ResultQueue
from .skew import SkewBuffer
from .weight_buffer import WeightBuffer


__all__ = ["TernaryAccelerator"]


class _TileCounter:
    """Nested counters over one stream of a job: ``inner`` beats per tile, then K tiles of
    ``rows`` (unless ``per_k_tile`` is false, for the results, which come once per N tile), then
    N tiles of ``cols``.

    Every flag the sequencer reads is a register: ``at_start`` (``inner == 0``), ``at_last``
    (the last beat of a tile), ``first_k``, ``last_k``, ``last_n`` and ``done``. The K and N
    still to go count down by ``rows`` and ``cols`` and the flags are compared with constants,
    and ``at_last`` is compared one beat ahead (``inner == beats - 2``), so no adder or
    comparator sits between these registers and the stream handshakes. No multiplier, no
    divider.

    ``single_beat`` (a tile has one beat) and ``beats_minus_2`` are constants or per-job
    registers."""

    def __init__(self, m, prefix, inner_bits, cfg, job_k, *, single_beat, beats_minus_2,
                 per_k_tile=True):
        self._m, self._cfg = m, cfg
        self._job_k = job_k      # K restarts with every N tile; N only counts down once
        self._single_beat, self._beats_minus_2 = single_beat, beats_minus_2
        self.per_k_tile = per_k_tile
        self.inner = Signal(inner_bits, name=f"{prefix}_inner")
        self.at_start = Signal(name=f"{prefix}_at_start")
        self.at_last = Signal(name=f"{prefix}_at_last")
        self.done = Signal(name=f"{prefix}_done")
        self.n_left = Signal(cfg.n_bits, name=f"{prefix}_n_left")
        self.last_n = Signal(name=f"{prefix}_last_n")
        if per_k_tile:
            self.k_left = Signal(cfg.k_bits, name=f"{prefix}_k_left")
            self.first_k = Signal(name=f"{prefix}_first_k")
            self.last_k = Signal(name=f"{prefix}_last_k")
        else:
            self.first_k = self.last_k = C(1, 1)

    def _restart_k(self, k):
        if not self.per_k_tile:
            return []
        return [self.k_left.eq(k), self.first_k.eq(1), self.last_k.eq(k <= self._cfg.rows)]

    def clear(self, k, n, single_beat):
        """Start a job of ``k`` x ``n`` (the command's sizes, sampled with ``start``) whose
        tiles have one beat if ``single_beat``."""
        return [self.inner.eq(0), self.at_start.eq(1), self.at_last.eq(single_beat),
                self.done.eq(0), self.n_left.eq(n), self.last_n.eq(n <= self._cfg.cols),
                *self._restart_k(k)]

    def step(self):
        """Advance by one beat (call under the beat's condition)."""
        m, cfg = self._m, self._cfg
        last_inner = self.at_last
        m.d.sync += self.at_last.eq(Mux(last_inner, self._single_beat,
                                        self.inner == self._beats_minus_2))

        def next_n_tile():
            with m.If(self.last_n):
                m.d.sync += self.done.eq(1)
            with m.Else():
                m.d.sync += [self.n_left.eq(self.n_left - cfg.cols),
                             self.last_n.eq(self.n_left <= 2 * cfg.cols)]

        m.d.sync += self.at_start.eq(last_inner)
        with m.If(last_inner):
            m.d.sync += self.inner.eq(0)
            if not self.per_k_tile:
                next_n_tile()
            else:
                with m.If(self.last_k):
                    m.d.sync += self._restart_k(self._job_k)
                    next_n_tile()
                with m.Else():
                    m.d.sync += [self.k_left.eq(self.k_left - cfg.rows), self.first_k.eq(0),
                                 self.last_k.eq(self.k_left <= 2 * cfg.rows)]
        with m.Else():
            m.d.sync += self.inner.eq(self.inner + 1)


class TernaryAccelerator(wiring.Component):
    """A ternary GEMM accelerator: ``Y[M, N] = X[M, K] @ W[N, K].T`` with ``X`` signed
    ``act_bits`` integers and ``W`` in {-1, 0, +1}. (With ``config.pe == "int8"``, the synthesis
    baseline, ``W`` is int8 and each weight word holds ``cols`` int8 lanes.)

    The job is split into weight tiles of ``rows`` (K) x ``cols`` (N), N tiles outermost, K tiles
    inside. For every tile the host streams the tile's ``rows`` packed weight words and, for
    every activation row ``m``, the ``rows`` activations ``X[m, k0:k0+rows]``; after the last K
    tile of an N tile the accelerator returns ``M`` result vectors ``Y[m, n0:n0+cols]``. Rows and
    lanes past K or N are padded by the host with zeros and come back as zeros. The cycle-level
    protocol is ``docs/interface.md``.

    Members
    -------
    start, cmd_m, cmd_k, cmd_n : ``In``
        A job starts on a cycle with ``start`` high and ``busy`` low. Sizes outside
        ``1..max_m``, ``1..max_k``, ``1..max_n`` set ``cmd_error`` instead.
    busy : ``Out(1)``
        High from the cycle after ``start`` until the last result beat is accepted.
    done : ``Out(1)``
        One-cycle pulse in the cycle after the last result beat is accepted.
    cmd_error : ``Out(1)``
        The last ``start`` had invalid sizes and was ignored; cleared by a valid ``start``.
    weights : ``In(stream.Signature(word_bits))``
        Packed weight words, one array row of a tile per beat, tiles in job order.
    activations : ``In(stream.Signature(ArrayLayout(signed(act_bits), rows)))``
        One activation row segment per beat, lane ``k`` = ``X[m, k0 + k]``.
    results : ``Out(stream.Signature(ArrayLayout(signed(acc_bits), cols)))``
        One result row segment per beat, lane ``n`` = ``Y[m, n0 + n]``.

    Backpressure: the datapath never stalls. Results wait in a queue of
    ``config.result_queue_depth`` entries, and an activation row of a last K tile enters only
    when its result has a reserved slot there, so a slow result sink lowers
    ``activations.ready`` a few cycles later, through registers; ``results.ready`` reaches no
    other port combinationally. No ready depends on any valid. ``activations.ready`` also
    waits when a row would return to the accumulator less than 4 cycles after its previous
    visit (only with ``max(M, rows) < 4`` or an idle activation source).
    """

    def __init__(self, config=None, *, instantiate_pes=False):
        if config is None:
            config = AccelConfig()
        if not isinstance(config, AccelConfig):
            raise TypeError(f"config must be an AccelConfig, not {config!r}")
        self.config = config
        self.instantiate_pes = instantiate_pes
        cfg = config
        super().__init__({
            "start": In(1),
            "cmd_m": In(cfg.m_bits),
            "cmd_k": In(cfg.k_bits),
            "cmd_n": In(cfg.n_bits),
            "busy": Out(1),
            "done": Out(1),
            "cmd_error": Out(1),
            "weights": In(stream.Signature(cfg.word_bits)),
            "activations": In(stream.Signature(
                data.ArrayLayout(signed(cfg.act_bits), cfg.rows))),
            "results": Out(stream.Signature(
                data.ArrayLayout(signed(cfg.acc_bits), cfg.cols))),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        row_bits = max(1, (cfg.rows - 1).bit_length())

        m.submodules.wbuf = wbuf = WeightBuffer(word_bits=cfg.word_bits, depth=cfg.weight_buffer_depth)
        if cfg.pe == "ternary":
            decoder = WeightDecoder(weight_format=cfg.format.name, lanes=cfg.cols,
                                    word_bits=cfg.word_bits)
        else:
            decoder = Int8WeightLanes(lanes=cfg.cols, weight_bits=cfg.weight_bits)
        m.submodules.decoder = decoder
        m.submodules.array = array = SystolicArray(cfg, instantiate=self.instantiate_pes)
        m.submodules.act_skew = act_skew = SkewBuffer.skew(
            data.StructLayout({"x": signed(cfg.act_bits), "swap": 1}), cfg.rows)
        m.submodules.code_skew = code_skew = SkewBuffer.skew(weight_shape(cfg), cfg.cols)
        m.submodules.deskew = deskew = SkewBuffer.deskew(signed(cfg.column_bits), cfg.cols)
        m.submodules.acc = acc = Accumulator(cols=cfg.cols, acc_bits=cfg.acc_bits,
                                             column_bits=cfg.column_bits, depth=cfg.max_m)
        m.submodules.result_queue = result_queue = ResultQueue(
            data.ArrayLayout(signed(cfg.acc_bits), cfg.cols), depth=cfg.result_queue_depth)
        wiring.connect(m, result_queue=result_queue.o, results=wiring.flipped(self.results))

        # ---- job -----------------------------------------------------------------------
        job_m = Signal(cfg.m_bits)
        job_k = Signal(cfg.k_bits)
        single_m = Signal()                 # M == 1
        m_minus_2 = Signal(cfg.m_bits)      # M - 2, for the row counters' last-beat flags
        per_word = {"single_beat": C(cfg.rows == 1, 1), "beats_minus_2": max(cfg.rows - 2, 0)}
        per_row = {"single_beat": single_m, "beats_minus_2": m_minus_2}
        writer = _TileCounter(m, "writer", row_bits, cfg, job_k, **per_word)
        loader = _TileCounter(m, "loader", row_bits, cfg, job_k, **per_word)
        feeder = _TileCounter(m, "feeder", cfg.m_bits, cfg, job_k, **per_row)
        drain = _TileCounter(m, "drain", cfg.m_bits, cfg, job_k, per_k_tile=False, **per_row)

        def in_range(size, top):
            # The upper bound is a real check only when the field can exceed it.
            check = size != 0
            if top < (1 << len(size)) - 1:
                check &= size <= top
            return check

        sizes_ok = Signal()
        m.d.comb += sizes_ok.eq(in_range(self.cmd_m, cfg.max_m) &
                                in_range(self.cmd_k, cfg.max_k) &
                                in_range(self.cmd_n, cfg.max_n))
        m.d.sync += self.done.eq(0)
        with m.If(self.start & ~self.busy):
            with m.If(sizes_ok):
                m.d.sync += [
                    job_m.eq(self.cmd_m), job_k.eq(self.cmd_k),
                    single_m.eq(self.cmd_m == 1), m_minus_2.eq(self.cmd_m - 2),
                    self.busy.eq(1), self.cmd_error.eq(0),
                    *writer.clear(self.cmd_k, self.cmd_n, cfg.rows == 1),
                    *loader.clear(self.cmd_k, self.cmd_n, cfg.rows == 1),
                    *feeder.clear(self.cmd_k, self.cmd_n, self.cmd_m == 1),
                    *drain.clear(self.cmd_k, self.cmd_n, self.cmd_m == 1),
                ]
            with m.Else():
                m.d.sync += self.cmd_error.eq(1)

        # ---- weights into the SRAM -----------------------------------------------------
        wiring.connect(m, weights=wiring.flipped(self.weights), wbuf=wbuf.i)
        m.d.comb += wbuf.allow.eq(self.busy & ~writer.done)
        with m.If(self.weights.valid & self.weights.ready):
            writer.step()

        # ---- loader: SRAM -> decoder -> shadow weights, one tile row per cycle ---------
        # A tile is loaded only when all its words are buffered, so its rows reach the array
        # on consecutive cycles, matching the diagonal of the activations that swap. The
        # loader starts only on an empty shadow, at the earliest the cycle after the swap that
        # emptied it: the activations take one register more than the weights to the array,
        # so the load still reaches every PE no earlier than that swap, and the input
        # handshake does not reach the loader combinationally.
        loading = Signal()
        shadow_full = Signal()
        swap_now = Signal()
        start_load = Signal()
        reading = Signal()
        read_row = loader.inner     # 0 whenever the loader is idle
        m.d.comb += [
            start_load.eq(self.busy & ~loading & ~loader.done &
                          (wbuf.level >= cfg.rows) & ~shadow_full),
            reading.eq(start_load | loading),
            wbuf.read.eq(reading),
        ]
        with m.If(reading):
            m.d.sync += loading.eq(~loader.at_last)
            loader.step()
        m.d.sync += shadow_full.eq(start_load | (shadow_full & ~swap_now))

        # Read data is valid one cycle after the read; decode and register it (W0).
        read_valid = Signal()
        read_row_q = Signal(row_bits)
        w0_valid = Signal()
        w0_row = Signal(row_bits)
        w0_codes = Signal(data.ArrayLayout(weight_shape(cfg), cfg.cols), reset_less=True)
        m.d.comb += decoder.word.eq(wbuf.data)
        m.d.sync += [
            read_valid.eq(reading), read_row_q.eq(read_row),
            w0_valid.eq(read_valid), w0_row.eq(read_row_q), w0_codes.eq(decoder.codes),
        ]
        # Column n sees the word n cycles later: codes through a skew buffer, the row select
        # along a chain of registers.
        m.d.comb += code_skew.i.eq(w0_codes)
        select_valid, select_row = w0_valid, w0_row
        for n in range(cfg.cols):
            if n:
                valid_q = Signal(name=f"load_valid_{n}")
                row_q = Signal(row_bits, name=f"load_row_{n}")
                m.d.sync += [valid_q.eq(select_valid), row_q.eq(select_row)]
                select_valid, select_row = valid_q, row_q
            m.d.comb += [
                array.code[n].eq(code_skew.o[n]),
                array.load_valid[n].eq(select_valid),
                array.load_row[n].eq(select_row),
            ]

        # ---- activations into the array ------------------------------------------------
        token = data.StructLayout({"valid": 1, "m": range(cfg.max_m), "first": 1, "last": 1})
        accept = Signal()
        tile_start = feeder.at_start
        # The accumulator needs a row's visits ROW_SPACING cycles apart. Every tile takes its
        # rows in the same order 0..M-1, so the previous visit of the next row is the M-th most
        # recent accepted beat: the next beat waits while M or more of the last
        # ROW_SPACING - 1 cycles accepted one (only possible with M < ROW_SPACING). Computed a
        # cycle ahead into a register.
        history = [Signal(name=f"accepted_{age}") for age in range(1, ROW_SPACING - 1)]
        for newer, older in zip([accept] + history, history):
            m.d.sync += older.eq(newer)
        recent = sum(history)
        spacing_wait = Signal()
        m.d.sync += spacing_wait.eq(Mux(accept, recent + 1 >= job_m, recent >= job_m))
        m.d.comb += [
            self.activations.ready.eq(self.busy & ~feeder.done & ~spacing_wait &
                                      (~tile_start | shadow_full) &
                                      (~feeder.last_k | result_queue.has_room)),
            accept.eq(self.activations.valid & self.activations.ready),
            swap_now.eq(accept & tile_start),
            result_queue.reserve.eq(accept & feeder.last_k),
        ]
        with m.If(accept):
            feeder.step()

        t0 = Signal(token)
        t0_swap = Signal()
        t0_x = Signal(data.ArrayLayout(signed(cfg.act_bits), cfg.rows), reset_less=True)
        t1_swap = Signal()
        t1_x = Signal.like(t0_x)
        t2_swap = Signal()
        t2_x = Signal.like(t0_x)
        m.d.sync += [
            t0.valid.eq(accept), t0.m.eq(feeder.inner), t0.first.eq(feeder.first_k),
            t0.last.eq(feeder.last_k), t0_swap.eq(swap_now), t0_x.eq(self.activations.payload),
            t1_swap.eq(t0_swap), t1_x.eq(t0_x),
            t2_swap.eq(t1_swap), t2_x.eq(t1_x),
        ]
        for k in range(cfg.rows):
            m.d.comb += [
                act_skew.i[k].x.eq(t2_x[k]),
                act_skew.i[k].swap.eq(t2_swap),
                array.x[k].eq(act_skew.o[k].x),
                array.swap[k].eq(act_skew.o[k].swap),
            ]

        # ---- column sums -> accumulator ------------------------------------------------
        # A row accepted at t is T0 at t+1 and meets its deskewed sums at the accumulator at
        # t + rows + cols + 2; the accumulator reads its stored sum two cycles before.
        m.d.comb += deskew.i.eq(array.psum)
        ahead = ahead2 = t0
        for stage in range(cfg.rows + cfg.cols):
            delayed = Signal(token, name=f"token_d{stage + 1}")
            m.d.sync += delayed.eq(ahead)
            ahead2, ahead = ahead, delayed
        arrived = Signal(token)
        m.d.sync += arrived.eq(ahead)
        m.d.comb += [
            acc.read_m.eq(ahead2.m),
            acc.valid.eq(arrived.valid), acc.m.eq(arrived.m),
            acc.first.eq(arrived.first), acc.last.eq(arrived.last),
            acc.psum.eq(deskew.o),
            result_queue.i_valid.eq(acc.result_valid),
            result_queue.i_payload.eq(acc.result),
        ]

        # ---- results out ---------------------------------------------------------------
        with m.If(self.results.valid & self.results.ready):
            with m.If(drain.at_last & drain.last_n):
                m.d.sync += [self.busy.eq(0), self.done.eq(1)]
            drain.step()
        return m
