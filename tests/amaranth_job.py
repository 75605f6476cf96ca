"""One accelerator job in Amaranth's own simulator (no Verilator), shared by the fast tests of
the ternary top level and of the int8 baseline."""

import random

from amaranth.sim import Simulator

from cosim.layout import JobLayout
from rtl.top import TernaryAccelerator


def simulate_job(cfg, x, n, weights, *, idle=0.0, stall=0.0, seed=0, probe_ready=False):
    """Run ``X[M, K]`` against the weight beats ``weights`` (already in job order) for an
    ``N``-column result; sources idle with probability ``idle``, the sink stalls with
    probability ``stall`` (seeded). Returns ``(y int64 [M, N], cycles)``, cycles counted from
    the first input beat accepted to the last result beat accepted; fails unless ``done``
    pulses and ``busy`` is low in the cycle after the last result beat, with every input beat
    taken.

    With ``probe_ready``, every cycle also asserts that flipping ``results.ready`` changes
    neither ``weights.ready`` nor ``activations.ready`` (no combinational path)."""
    m, k = x.shape
    layout = JobLayout(cfg, m, k, n)
    activations = layout.activation_words(x)
    dut = TernaryAccelerator(cfg)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    outcome = {}
    result_mask = (1 << cfg.result_stream_bits) - 1

    async def bench(ctx):
        rng = random.Random(seed)
        ctx.set(dut.cmd.payload, {"m": m, "k": k, "n": n})
        ctx.set(dut.cmd.valid, 1)
        await ctx.tick().until(dut.cmd.ready)
        ctx.set(dut.cmd.valid, 0)
        wi = ai = cycle = 0
        first = last = None
        results = []
        while len(results) < layout.result_beats:
            assert cycle < 50 * cfg.cycles(m, k, n), "job stalled"
            offer_w = wi < len(weights) and rng.random() >= idle
            offer_a = ai < len(activations) and rng.random() >= idle
            take = rng.random() >= stall
            ctx.set(dut.weights.valid, offer_w)
            ctx.set(dut.weights.payload, weights[wi] if offer_w else 0)
            ctx.set(dut.activations.valid, offer_a)
            ctx.set(dut.activations.payload.as_value(), activations[ai] if offer_a else 0)
            if probe_ready:
                seen = set()
                for ready in (0, 1):
                    ctx.set(dut.results.ready, ready)
                    seen.add((ctx.get(dut.weights.ready), ctx.get(dut.activations.ready)))
                assert len(seen) == 1, f"cycle {cycle}: results.ready reaches an input ready"
            ctx.set(dut.results.ready, take)
            _, _, w_ready, a_ready, r_valid, r_data = await ctx.tick().sample(
                dut.weights.ready, dut.activations.ready, dut.results.valid,
                dut.results.payload.as_value())
            if offer_w and w_ready:
                wi += 1
                first = cycle if first is None else first
            if offer_a and a_ready:
                ai += 1
                first = cycle if first is None else first
            if take and r_valid:
                results.append(int(r_data) & result_mask)
                last = cycle
            cycle += 1
        # The job ends with its last result beat: ``done`` pulses in the next cycle, ``busy``
        # falls, and every input beat of the job was taken (a counter that expects more
        # tiles would leave the job hanging with every result already out).
        ctx.set(dut.weights.valid, 0)
        ctx.set(dut.activations.valid, 0)
        assert ctx.get(dut.done) and not ctx.get(dut.busy), "the job did not end after its " \
            "last result beat"
        assert (wi, ai) == (len(weights), len(activations)), \
            f"{len(weights) - wi} weight and {len(activations) - ai} activation beats left"
        outcome["y"] = layout.results(results)
        outcome["cycles"] = last - first + 1

    sim.add_testbench(bench)
    sim.run()
    return outcome["y"], outcome["cycles"]
