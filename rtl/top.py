"""The accelerator top level: the command and data streams, and the blocks that keep the array
fed, wired together (each block is a component in its own file, ``docs/architecture.md``)."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .accumulator import Accumulator
from .array import SystolicArray
from .checks import check_bool, check_config
from .command import JobControl, command_layout
from .config import AccelConfig
from .delay_line import DelayLine
from .drain import ResultDrain
from .feeder import ActivationFeeder, token_layout
from .pipeline import FETCH_REGISTERS, input_delay, token_delay, token_tap
from .result_queue import ResultQueue
from .result_serializer import ResultSerializer
from .skew import SkewBuffer
from .weight_store import WeightStore


__all__ = ["TernaryAccelerator"]


class TernaryAccelerator(wiring.Component):
    """A ternary GEMM accelerator: ``Y[M, N] = X[M, K] @ W[N, K].T`` with ``X`` signed
    ``act_bits`` integers and ``W`` in {-1, 0, +1}. (With ``config.pe == "int8"``, the synthesis
    baseline, ``W`` is int8 and each weight word holds ``cols`` int8 lanes.)

    The job is split into weight tiles of ``rows`` (K) x ``cols`` (N), N tiles outermost, K tiles
    inside. The host streams the job's tile rows, ``k = config.rows_per_beat`` rows per weight
    beat (tile after tile, the last beat padded), and for every tile and every activation row
    ``m`` the ``rows`` activations ``X[m, k0:k0+rows]``; after the last K tile of an N tile the
    accelerator returns ``M`` result vectors ``Y[m, n0:n0+cols]``. Rows and lanes past K or N
    are padded by the host with zeros and come back as zeros. The cycle-level protocol is
    ``docs/interface.md``.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig` or None
        The configuration (None: the default one).
    instantiate_pes : bool
        Columns and PEs as Verilog ``Instance`` s of shared modules (the generator) or as
        Amaranth submodules (the Amaranth simulator).

    Members
    -------
    cmd : ``In(stream.Signature(StructLayout({"m": m_bits, "k": k_bits, "n": n_bits})))``
        Job commands (:func:`~rtl.command.command_layout`), accepted on ``cmd.valid &
        cmd.ready``; ``cmd.ready`` is ``~busy``. Sizes outside ``1..max_m``, ``1..max_k``,
        ``1..max_n`` set ``cmd_error`` instead of starting a job.
    busy : ``Out(1)``
        High from the cycle after a command is accepted until the last result beat is
        accepted.
    done : ``Out(1)``
        One-cycle pulse in the cycle after the last result beat is accepted.
    cmd_error : ``Out(1)``
        The last command accepted had invalid sizes and was ignored; cleared by the next valid
        command.
    weights : ``In(stream.Signature(word_bits))``
        Packed weight beats of ``W = word_bits`` bits, ``rows_per_beat`` tile rows each, tiles
        in job order (:class:`~rtl.weight_store.WeightStore`).
    activations : ``In(stream.Signature(ArrayLayout(signed(act_bits), rows)))``
        One activation row segment per beat, lane ``k`` = ``X[m, k0 + k]``.
    results : ``Out(stream.Signature(ArrayLayout(signed(acc_bits), result_beat_lanes)))``
        One result row segment per beat, lane ``n`` = ``Y[m, n0 + n]``; with
        ``config.result_lanes`` below ``cols``, each row over ``result_beats_per_row`` beats,
        beat ``j`` holding lanes ``j * result_lanes ..`` (:mod:`rtl.result_serializer`).

    Backpressure: the datapath never stalls. Results wait in a queue of
    ``config.result_queue_depth`` entries, and an activation row of a last K tile enters only
    when its result has a reserved slot there, so a slow result sink lowers
    ``activations.ready`` a few cycles later, through registers; ``results.ready`` reaches no
    other port combinationally. No ready depends on any valid. ``activations.ready`` waits at
    a tile's first row until the whole tile is in the weight store, and when a row would
    return to the accumulator less than ``config.row_spacing`` cycles after its previous visit
    (4 without forwarding: only with ``M < 4`` and tiles shorter than 4 cycles, or an idle
    activation source). ``weights.ready`` waits while the store's slots are all taken.

    Latency: ``config.latency`` (``rows + 5``) cycles from an activation beat accepted to
    its result beat valid, the sum of the blocks' declared latencies (:mod:`rtl.pipeline`).
    """

    def __init__(self, config=None, *, instantiate_pes=False):
        if config is None:
            config = AccelConfig()
        self.config = check_config(config)
        self.instantiate_pes = check_bool("instantiate_pes", instantiate_pes)
        cfg = config
        super().__init__({
            "cmd": In(stream.Signature(command_layout(cfg))),
            "busy": Out(1),
            "done": Out(1),
            "cmd_error": Out(1),
            "weights": In(stream.Signature(cfg.word_bits)),
            "activations": In(stream.Signature(
                data.ArrayLayout(signed(cfg.act_bits), cfg.rows))),
            "results": Out(stream.Signature(
                data.ArrayLayout(signed(cfg.acc_bits), cfg.result_beat_lanes))),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config

        # ---- the job ---------------------------------------------------------------------
        m.submodules.control = control = JobControl(cfg)
        wiring.connect(m, cmd=wiring.flipped(self.cmd), control=control.cmd)
        m.d.comb += [self.busy.eq(control.job.busy), self.done.eq(control.done),
                     self.cmd_error.eq(control.cmd_error)]

        # ---- weights: stream -> decoder -> banks, read on the diagonal -------------------
        m.submodules.store = store = WeightStore(cfg)
        wiring.connect(m, weights=wiring.flipped(self.weights), store=store.weights)
        wiring.connect(m, control=control.job, store=store.job)

        # ---- activations: feeder -> input registers -> skew -> array ---------------------
        m.submodules.feeder = feeder = ActivationFeeder(cfg)
        m.submodules.result_queue = result_queue = ResultQueue(
            data.ArrayLayout(signed(cfg.acc_bits), cfg.cols), depth=cfg.result_queue_depth)
        wiring.connect(m, control=control.job, feeder=feeder.job)
        wiring.connect(m, activations=wiring.flipped(self.activations),
                       feeder=feeder.activations)
        m.d.comb += [
            feeder.tile_ready.eq(store.tile_ready),
            feeder.has_room.eq(result_queue.has_room),
            store.start.eq(feeder.tile_start),
            result_queue.reserve.eq(feeder.reserve),
        ]
        m.submodules.x_in = x_in = DelayLine(feeder.x.shape(), delay=input_delay(cfg),
                                             reset_less=True)
        m.submodules.fetch = fetch = DelayLine(1, delay=FETCH_REGISTERS)
        m.submodules.act_skew = act_skew = SkewBuffer.skew(signed(cfg.act_bits), cfg.rows)
        m.submodules.array = array = SystolicArray(cfg, instantiate=self.instantiate_pes)
        m.d.comb += [
            x_in.i.eq(feeder.x),
            fetch.i.eq(feeder.tile_start),
            store.fetch.eq(fetch.o),
            act_skew.i.eq(x_in.o),
            array.x.eq(act_skew.o),
            array.weights.eq(store.rows_out),
        ]

        # ---- column sums and tokens -> accumulator -> result queue -----------------------
        m.submodules.tokens = tokens = DelayLine(token_layout(cfg), delay=token_delay(cfg),
                                                 tap=token_tap(cfg))
        m.submodules.acc = acc = Accumulator(cols=cfg.cols, acc_bits=cfg.acc_bits,
                                             column_bits=cfg.column_bits, depth=cfg.max_m,
                                             forward=cfg.accumulator_forwarding)
        arrived = tokens.o
        m.d.comb += [
            tokens.i.eq(feeder.token),
            acc.read_m.eq(tokens.tap_o.m),
            acc.valid.eq(arrived.valid), acc.m.eq(arrived.m),
            acc.first.eq(arrived.first), acc.last.eq(arrived.last),
            acc.psum.eq(array.psum),
            result_queue.i_valid.eq(acc.result_valid),
            result_queue.i_payload.eq(acc.result),
        ]

        # ---- results out -----------------------------------------------------------------
        m.submodules.drain = drain = ResultDrain(cfg)
        row_end = self.results.valid & self.results.ready
        if cfg.result_beats_per_row == 1:
            wiring.connect(m, result_queue=result_queue.o, results=wiring.flipped(self.results))
        else:
            m.submodules.serializer = serializer = ResultSerializer(
                signed(cfg.acc_bits), cols=cfg.cols, lanes=cfg.result_beat_lanes)
            wiring.connect(m, result_queue=result_queue.o, serializer=serializer.i)
            wiring.connect(m, serializer=serializer.o, results=wiring.flipped(self.results))
            row_end = row_end & serializer.last
        wiring.connect(m, control=control.job, drain=drain.job)
        m.d.comb += [
            drain.beat.eq(row_end),
            control.finish.eq(drain.finish),
        ]
        return m
