"""Formal proofs of the weight store (rtl/weight_store.py) against a small model, as Amaranth's
own ``tests/test_lib_fifo.py`` checks its FIFOs. Unbounded (k-induction), with reset at any
cycle, on small configurations (:data:`CASES`): 2 to 4 rows, 1 and 2 columns, 1, 2 and 3 tile
rows per beat (2 of 3 rows and 3 of 4: beats that end one tile and begin the next), ``i2``
and ``t5``, 2, 3 and 4 tile slots (4: the default of a 2x1 array).

The store's surroundings behave as the top level drives them, and are otherwise free:

* **Jobs**: any sequence of jobs of any legal size (``K`` up to three tiles, ``N`` up to two,
  so 1 to 6 tiles a job, with and without a padded last beat); a job starts only while none
  runs, and ends (``busy`` falls) only once all its tiles have been started and read down the
  diagonal, as the accelerator's last result comes after all that. (The job control is
  proven on its own in ``tests/test_formal_control.py``.)
* **Weights**: ``valid`` and the payload free in every cycle (no assumption at all, which
  contains every source that obeys the stream rules).
* **Tiles**: ``start`` in any cycle with ``tile_ready`` high (the activation feeder starts a
  tile only then, at most once a cycle), and ``fetch`` one cycle after ``start`` (the top
  level's fetch register).

The model counts the job's tile rows as the beats bring them (``k`` rows a beat, tile after
tile, padding past the last tile dropped), the tiles complete and waiting, the tiles holding
a slot (from the beat that brings row 0 until bank ``rows - 1`` has read the tile, ``rows``
cycles after its start) and the tiles started. One row of one tile is *tracked*: at a beat the
solver chooses, one of its rows is recorded with its tile, its row and its decoded weights
(the store's decoder output; the decoder itself is proven against golden over every word in
``tests/test_formal_decoder.py``). When the tracked tile is started, bank ``r`` of the tracked
row ``r`` must show the recorded weights on ``rows_out[r]`` ``r + 2`` cycles later (the fetch
register, ``r`` steps of the diagonal, the bank's read register) and keep them until its next
read. Since the solver may track any row of any tile of any run, this proves every tile row is
delivered to its array row when its tile is read, exactly then, with its value: nothing lost,
duplicated, reordered or overwritten, whatever the pauses.

Also asserted in every state: the slots taken and the complete tiles waiting equal the
model's counts and stay within ``0 .. wmem_tiles``; ``tile_ready`` is high exactly when a
complete tile waits; ``weights.ready`` is high exactly while a job runs, it still expects
beats, and the next beat either opens no tile or finds a free slot (docstring). And
structurally: ``weights.ready`` depends combinationally on ``job.busy`` only (a register of
the job control), so never on ``weights.valid``; every other output is a register.

The inductive invariants tie the model to the store's registers (its tile counter, its write
row and slot, the read slot of every bank, the diagonal's shift chain) and to the tracked row's
memory word (an extra asynchronous read port on each bank,
:func:`formal_sby.elaborate_with_internals`).
"""

from dataclasses import replace
import math

import pytest
from amaranth import *
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume, Cover

from formal_sby import combinational_paths, elaborate_with_internals, prove
from rtl.config import AccelConfig
from rtl.weight_store import WeightStore

#: K and N tiles of the largest job: up to 6 tiles a job (3 tiles: a padded last beat).
K_TILES, N_TILES = 3, 2

#: (rows, cols, rows_per_beat, weight_format, wmem_tiles or None for the default).
CASES = [
    (2, 2, 1, "i2", 2),
    (2, 2, 2, "i2", 2),     # a whole tile a beat: tiles can start every cycle
    (3, 1, 2, "i2", 3),     # 2 rows a beat, 3 rows a tile: beats straddle tiles
    (3, 2, 2, "t5", 2),     # the same in t5 (four weights in one byte)
    (3, 2, 1, "t5", 3),
    (3, 1, 3, "i2", 2),
    (4, 1, 3, "i2", 3),     # 3 rows a beat, 4 a tile: a bank takes any of the three lane groups
    (2, 1, 1, "t5", None),  # the default slot count (4)
]


def config(rows, cols, per_beat, weight_format, tiles):
    """A small accelerator configuration with ``per_beat`` tile rows a weight beat."""
    loose = AccelConfig(rows=rows, cols=cols, act_bits=2, acc_bits=32, max_m=1,
                        max_k=K_TILES * rows, max_n=N_TILES * cols,
                        weight_format=weight_format, wmem_tiles=tiles)
    bits = loose.format.word_bits(per_beat * cols)
    return replace(loose, acc_bits=loose.acc_bits_needed, weight_port_bits=bits)


def induction_depth(cfg):
    """k-induction depth: longer than the transients the invariants leave to the induction
    (a tracked tile's read down the diagonal, ``rows + 2`` cycles)."""
    return cfg.rows + 3


def _ceil_div(a, b):
    return -(-a // b)


def _mod(value, modulus):
    """``value % modulus`` of a non-negative value."""
    return value % modulus


class WeightStoreProperties(Elaboratable):
    def __init__(self, cfg, *, invariants=True):
        self.cfg = cfg
        self.invariants = invariants

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        rows, cols, per_beat = cfg.rows, cfg.cols, cfg.rows_per_beat
        slots = cfg.weight_store_tiles
        max_tiles = K_TILES * N_TILES
        dut = WeightStore(cfg)
        banks = [f"bank_{r}" for r in range(rows)]
        m.submodules.dut, internal, peek = elaborate_with_internals(dut, platform, peek=banks)

        # ---- the job, as the job control drives it ---------------------------------------
        job = dut.job
        busy = Signal()
        job_k = Signal(cfg.k_bits)
        k_tiles = Signal(range(K_TILES + 1))
        n_tiles = Signal(range(N_TILES + 1))
        tiles = Signal(range(max_tiles + 1))
        starting = Signal()
        m.d.comb += [
            starting.eq(AnySeq(1) & ~busy),
            job.busy.eq(busy), job.start.eq(starting), job.job_k.eq(job_k),
            job.size.k.eq(AnySeq(cfg.k_bits)), job.size.n.eq(AnySeq(cfg.n_bits)),
            job.size.m.eq(1), job.job_m.eq(1), job.single_m.eq(1),
        ]
        size_k, size_n = job.size.k, job.size.n
        with m.If(starting):
            m.d.comb += Assume((size_k >= 1) & (size_k <= cfg.max_k) &
                               (size_n >= 1) & (size_n <= cfg.max_n))
        k_table = Array(C(_ceil_div(k, rows), 3) for k in range(1 << cfg.k_bits))
        n_table = Array(C(_ceil_div(n, cols), 3) for n in range(1 << cfg.n_bits))

        # ---- the model -------------------------------------------------------------------
        tile = Signal(range(max_tiles + 1))      # the tile the next beat's first row is in
        row = Signal(range(rows))                # that row
        tile_k = Signal(range(K_TILES))          # its K and N tile
        tile_n = Signal(range(N_TILES + 1))
        waiting = Signal(range(slots + 1))       # complete tiles not yet started
        occupied = Signal(range(slots + 1))      # tiles holding a slot
        started = Signal(range(max_tiles + 1))   # tiles of the job started
        # diagonal[i]: a tile started i + 1 cycles ago (diagonal[0] is ``fetch``).
        diagonal = [Signal(name=f"started_{i + 1}_ago") for i in range(rows)]

        accept = Signal()
        ends = Signal()
        opens = Signal()
        last_tile = Signal()
        start = Signal()
        m.d.comb += [
            dut.weights.valid.eq(AnySeq(1)),
            dut.weights.payload.eq(AnySeq(cfg.word_bits)),
            accept.eq(dut.weights.valid & dut.weights.ready),
            last_tile.eq(tile + 1 == tiles),
            ends.eq(row + per_beat >= rows),
            opens.eq((row == 0) | ((row + per_beat > rows) & ~last_tile)),
            start.eq(AnySeq(1)),
            dut.start.eq(start),
            dut.fetch.eq(diagonal[0]),
        ]
        m.d.comb += Assume(~start | dut.tile_ready)
        m.d.sync += diagonal[0].eq(start)
        m.d.sync += [later.eq(earlier) for earlier, later in zip(diagonal, diagonal[1:])]
        freed = diagonal[-1]

        with m.If(accept):
            with m.If(ends):
                m.d.sync += [tile.eq(tile + 1), row.eq(Mux(last_tile, 0, row + per_beat - rows))]
                with m.If(tile_k == k_tiles - 1):
                    m.d.sync += [tile_k.eq(0), tile_n.eq(tile_n + 1)]
                with m.Else():
                    m.d.sync += tile_k.eq(tile_k + 1)
            with m.Else():
                m.d.sync += row.eq(row + per_beat)
        m.d.sync += [
            waiting.eq(waiting + (accept & ends) - start),
            occupied.eq(occupied + (accept & opens) - freed),
        ]
        with m.If(start):
            m.d.sync += started.eq(started + 1)

        finish = Signal()
        m.d.comb += finish.eq(AnySeq(1) & busy & (tile == tiles) & (started == tiles) &
                              ~Cat(diagonal).any())
        with m.If(starting):
            m.d.sync += [
                busy.eq(1), job_k.eq(size_k),
                k_tiles.eq(k_table[size_k]), n_tiles.eq(n_table[size_n]),
                tiles.eq(k_table[size_k] * n_table[size_n]),
                tile.eq(0), row.eq(0), tile_k.eq(0), tile_n.eq(0), started.eq(0),
            ]
        with m.If(finish):
            m.d.sync += busy.eq(0)

        # ---- the documented behaviour ----------------------------------------------------
        m.d.comb += [
            Assert(occupied <= slots),
            Assert(waiting <= slots),
            Assert(dut.tile_ready == (waiting != 0)),
            Assert(dut.weights.ready == (busy & (tile < tiles) & (~opens | (occupied < slots)))),
        ]

        # ---- the tracked row -------------------------------------------------------------
        stored = Signal()           # accepted, its tile not yet started
        fresh = Signal()            # accepted last cycle: in the write stage
        reading = Signal()          # its tile started; on rows_out once ``due`` is 0
        due = Signal(range(rows + 2))
        t_tile = Signal(range(max_tiles))
        t_row = Signal(range(rows))
        t_slot = Signal(range(slots))
        t_value = Signal(len(internal["decoder.codes"]) // per_beat)
        t_lane = Signal(range(per_beat))
        t_spilled = Signal()        # it came in a beat that began in the tile before

        lane = Signal(range(per_beat))
        lane_row = Signal(range(rows + per_beat))
        lane_spills = Signal()
        codes = internal["decoder.codes"]
        row_bits = len(t_value)
        m.d.comb += [
            lane.eq(AnySeq(len(lane)) if per_beat > 1 else 0),
            lane_row.eq(row + lane),
            lane_spills.eq(lane_row >= rows),
        ]
        slot = internal["slot"]
        next_slot = Mux(slot == slots - 1, 0, slot + 1)
        m.d.sync += fresh.eq(0)
        track = Signal()            # the row of this beat's lane ``lane`` is tracked
        m.d.comb += track.eq(~stored & ~reading & accept & AnySeq(1) & (lane < per_beat) &
                             (tile + lane_spills < tiles))
        with m.If(track):
            m.d.sync += [
                stored.eq(1), fresh.eq(1), t_spilled.eq(lane_spills),
                t_tile.eq(tile + lane_spills),
                t_row.eq(Mux(lane_spills, lane_row - rows, lane_row)),
                t_slot.eq(Mux(lane_spills, next_slot, slot)), t_lane.eq(lane),
            ]
        # The tracked row's decoded value: the decoder's output in the cycle of the accept,
        # or a cycle later when the store registers the beat as it came (decode_stage).
        decoded = Array(codes[i * row_bits:(i + 1) * row_bits] for i in range(per_beat))
        if WeightStore.decode_stage(cfg):
            with m.If(fresh):
                m.d.sync += t_value.eq(decoded[t_lane])
        else:
            with m.If(track):
                m.d.sync += t_value.eq(decoded[lane])
        with m.If(stored & start & (started == t_tile)):
            m.d.sync += [stored.eq(0), reading.eq(1), due.eq(t_row + 1)]
        row_out = Array(dut.rows_out[r] for r in range(rows))[t_row]
        with m.If(reading):
            with m.If(due != 0):
                m.d.sync += due.eq(due - 1)
            with m.Else():
                m.d.comb += Assert(row_out == t_value)
                # Kept until the bank's next read.
                with m.If(Array(diagonal)[t_row]):
                    m.d.sync += reading.eq(0)

        # Covers: a tracked row delivered by a full store; one that came in a beat that began
        # in the tile before.
        m.d.comb += [
            Cover(reading & (due == 0) & (occupied == slots) & (t_value != 0)),
            Cover(reading & (due == 0) & t_spilled & (t_tile != 0)),
        ]
        if self.invariants:
            # Inductive invariants: the model's counters agree with each other and with the
            # store's registers; the tracked row sits in its bank's memory word.
            read_slot = [internal[f"read_slot_{r}"] for r in range(rows)]
            m.d.comb += [
                Assert(internal["taken"] == occupied),
                Assert(internal["waiting"] == waiting),
                Assert(internal["room"] == (occupied < slots)),
                Assert(internal["row0"] == row),
                Assert(internal["slot"] < slots),
                Assert(_mod(read_slot[0] + waiting + diagonal[0], slots) == slot),
                Assert(occupied == waiting + sum(diagonal) + (row != 0)),
                Assert(started + waiting == tile),
                Assert(tile <= tiles),
                Assert(row < rows), Assert((tile < tiles) | (row == 0)),
                Assert(_mod(row, math.gcd(per_beat, rows)) == 0),     # where a beat can begin
                Assert(tiles == k_tiles * n_tiles),
                Assert(tile == tile_n * k_tiles + tile_k),
                Assert(~(stored & reading)),
                Assert(t_row < rows), Assert(t_slot < slots),
            ]
            for r in range(rows):
                m.d.comb += Assert(read_slot[r] < slots)
                if r:
                    m.d.comb += [
                        Assert(internal[f"fetch_{r}"] == diagonal[r]),
                        Assert(_mod(read_slot[r] + sum(diagonal[1:r + 1]), slots) == read_slot[0]),
                    ]
            counter = {name: internal[f"tiles.{name}"] for name in
                       ("k_left", "n_left", "first_k", "last_k", "last_n", "done", "at_last",
                        "inner", "single_k")}
            with m.If(busy):
                m.d.comb += [
                    Assert((k_tiles >= 1) & (k_tiles <= K_TILES)),
                    Assert((n_tiles >= 1) & (n_tiles <= N_TILES)),
                    Assert(job_k >= 1), Assert(job_k <= cfg.max_k),
                    Assert(k_table[job_k] == k_tiles),
                    Assert(tile_k < k_tiles), Assert(tile_n <= n_tiles),
                    Assert(counter["at_last"]), Assert(counter["inner"] == 0),
                    Assert(counter["done"] == (tile == tiles)),
                    Assert(counter["single_k"] == (k_tiles == 1)),
                ]
                with m.If(tile < tiles):
                    m.d.comb += [
                        Assert(counter["k_left"] == job_k - tile_k * rows),
                        Assert(counter["first_k"] == (tile_k == 0)),
                        Assert(counter["last_k"] == (tile_k == k_tiles - 1)),
                        Assert(counter["last_n"] == (tile_n == n_tiles - 1)),
                        Assert(k_table[counter["k_left"]] == k_tiles - tile_k),
                        Assert(n_table[counter["n_left"]] == n_tiles - tile_n),
                        Assert(counter["n_left"] >= 1),
                    ]
            with m.Else():
                m.d.comb += [Assert(tile == tiles), Assert(waiting == 0), Assert(occupied == 0),
                             Assert(~stored)]
            peeked = Array(peek[name].data for name in banks)[t_row]
            for name in banks:
                m.d.comb += peek[name].addr.eq(t_slot)
            with m.If(stored):
                m.d.comb += [
                    Assert(busy),
                    Assert(t_tile >= started), Assert(t_tile <= tile), Assert(t_tile < tiles),
                    Assert((t_tile != tile) | (t_row < row)),
                    Assert(_mod(read_slot[0] + diagonal[0] + (t_tile - started), slots) == t_slot),
                ]
            with m.If(reading & (due != 0)):
                # The tracked tile's start on its way down the diagonal.
                m.d.comb += [Assert(due <= t_row + 1),
                             Assert(Array(diagonal)[t_row + 1 - due])]
            with m.If((stored | (reading & (due != 0))) & ~fresh):
                m.d.comb += Assert(peeked == t_value)

        return m


def _case_id(case):
    rows, cols, per_beat, weight_format, tiles = case
    return f"{rows}x{cols}_k{per_beat}_{weight_format}_d{tiles or 'default'}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_weight_store_against_model(case):
    cfg = config(*case)
    prove(WeightStoreProperties(cfg), f"weight_store_{_case_id(case)}", mode="prove",
          depth=induction_depth(cfg), solver="yices")


@pytest.mark.parametrize("case", [CASES[2]], ids=_case_id)
def test_weight_store_model_is_reachable(case):
    """The proof is not vacuous: a tracked row is delivered while every slot is taken, and a
    row that came in a beat straddling two tiles is delivered to the later tile."""
    cfg = config(*case)
    prove(WeightStoreProperties(cfg), f"weight_store_cover_{_case_id(case)}", mode="cover",
          depth=16, solver="yices")


@pytest.mark.parametrize("case", [CASES[0], CASES[2]], ids=_case_id)
def test_weight_store_outputs_are_registers(case):
    """``weights.ready`` follows ``job.busy`` (the job control's register) in its cycle and
    nothing else; ``tile_ready`` and ``rows_out`` are registers."""
    store = WeightStore(config(*case))
    assert combinational_paths(store, f"comb_weight_store_{_case_id(case)}",
                               ["weights__ready"]) == ["job__busy"]
    others = ["tile_ready", "rows_out"]
    assert combinational_paths(store, f"comb_weight_store_out_{_case_id(case)}",
                               others) == []
