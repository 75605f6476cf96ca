"""The result serializer alone in Amaranth's simulator: each row leaves as ``ceil(cols / lanes)``
beats holding lanes ``j * lanes ..`` (zeros past ``cols``), rows in order with none lost or
repeated, under a random source and a random sink (seeded); the stream rules hold (a beat
offered stays offered and unchanged until taken); a row is taken with its last beat only."""

import random

import pytest
from amaranth.hdl import signed
from amaranth.sim import Simulator

from rtl.result_serializer import ResultSerializer


BITS = 6


def _expected_beats(row, lanes):
    """A row of lane values -> the beats, written out by hand: lists of ``lanes`` values."""
    padded = list(row) + [0] * (-len(row) % lanes)
    return [padded[j:j + lanes] for j in range(0, len(padded), lanes)]


def _run(cols, lanes, *, offer_rate, take_rate, rows=24, seed=0):
    dut = ResultSerializer(signed(BITS), cols=cols, lanes=lanes)
    sim = Simulator(dut)
    clocked = dut.beats > 1         # one beat per row: no register, no clock domain
    if clocked:
        sim.add_clock(1e-8)
    rng = random.Random(seed)
    data = [[rng.randrange(-(1 << BITS - 1), 1 << BITS - 1) for _ in range(cols)]
            for _ in range(rows)]
    outcome = {"beats": [], "rows_taken": 0, "lasts": []}

    async def bench(ctx):
        ri = 0
        held = None                 # (valid payload) offered and not taken last cycle
        for _ in range(rows * (dut.beats + 2) * 8):
            if ri == len(data) and not ctx.get(dut.o.valid):
                break
            offer = ri < len(data) and (rng.random() < offer_rate or ctx.get(dut.i.valid))
            ctx.set(dut.i.valid, offer)
            if offer:
                ctx.set(dut.i.payload, data[ri])
            take = rng.random() < take_rate
            ctx.set(dut.o.ready, take)
            valid = ctx.get(dut.o.valid)
            payload = [ctx.get(dut.o.payload[n]) for n in range(lanes)]
            if held is not None:
                assert valid and payload == held, "a beat offered changed or left untaken"
            held = payload if valid and not take else None
            if offer and ctx.get(dut.i.ready):
                assert valid and take and ctx.get(dut.last), "row taken before its last beat"
                ri += 1
                outcome["rows_taken"] += 1
            if valid and take:
                outcome["beats"].append(payload)
                outcome["lasts"].append(ctx.get(dut.last))
            await (ctx.tick() if clocked else ctx.delay(1e-8))

    sim.add_testbench(bench)
    sim.run()
    return data, outcome


@pytest.mark.parametrize("cols, lanes, offer_rate, take_rate, seed", [
    (6, 4, 1.0, 1.0, 1), (6, 4, 0.5, 0.5, 2), (7, 3, 0.7, 0.4, 3), (5, 1, 1.0, 0.6, 4),
    (8, 8, 0.6, 0.6, 5), (1, 1, 0.8, 0.8, 6), (9, 2, 0.3, 0.9, 7),
])
def test_rows_leave_as_beats_in_order(cols, lanes, offer_rate, take_rate, seed):
    data, outcome = _run(cols, lanes, offer_rate=offer_rate, take_rate=take_rate, seed=seed)
    beats = -(-cols // lanes)
    expected = [beat for row in data for beat in _expected_beats(row, lanes)]
    assert outcome["beats"] == expected
    assert outcome["rows_taken"] == len(data)
    assert outcome["lasts"] == ([False] * (beats - 1) + [True]) * len(data)


def test_always_ready_sink_takes_one_beat_per_cycle():
    """Rows always offered, sink always ready: 24 rows of 3 beats in 72 cycles, no gap."""
    dut = ResultSerializer(signed(BITS), cols=7, lanes=3)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    seen = []

    async def bench(ctx):
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.o.ready, 1)
        for cycle in range(80):
            ctx.set(dut.i.payload, [cycle % 30 - 15] * 7)
            if ctx.get(dut.o.valid):
                seen.append(ctx.get(dut.last))
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    assert seen[:72] == [False, False, True] * 24


@pytest.mark.parametrize("cols, lanes", [(7, 3), (8, 2), (5, 1)])
def test_later_beats_leave_from_the_copy_taken_with_beat_0(cols, lanes):
    """Beats 1.. leave from the registers filled while beat 0 was offered: once beat 0 is
    taken, ``i.payload`` no longer reaches ``o.payload`` (a block RAM behind ``i`` then sees
    one 2:1 choice before the sink's register). The bench changes ``i.payload`` after beat 0,
    which a stream source must not do, to show where the later beats come from."""
    dut = ResultSerializer(signed(BITS), cols=cols, lanes=lanes)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    row = [n - cols // 2 for n in range(cols)]                  # distinct lane values
    other = [(-1) ** n * 5 for n in range(cols)]
    seen = []

    async def bench(ctx):
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.i.payload, row)
        ctx.set(dut.o.ready, 0)
        await ctx.tick().repeat(2)                  # beat 0 waits, offered
        ctx.set(dut.o.ready, 1)
        seen.append([ctx.get(dut.o.payload[n]) for n in range(lanes)])
        await ctx.tick()
        ctx.set(dut.i.payload, other)
        for _ in range(dut.beats - 1):
            seen.append([ctx.get(dut.o.payload[n]) for n in range(lanes)])
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    assert seen == _expected_beats(row, lanes)
