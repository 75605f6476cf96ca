"""The cocotb side of the transaction-level harness (:mod:`cosim.harness`): Python acts once
per GEMM.

``await HarnessDriver(dut, config).gemm(x, w)`` writes the job's files into the simulator's
working folder, pulses ``start`` and waits for ``finished`` (one trigger, no per-cycle Python),
then reads the results back: the same :class:`~cosim.driver.GemmResult` as
:meth:`cosim.driver.AccelDriver.gemm`, with the same cycle count. ``dut`` is the wrapper
(``<name>_harness``), not the accelerator itself.

:meth:`HarnessDriver.run` runs jobs whose files the host has already written (what
:func:`cosim.run_gemm` does: the simulator process then needs neither NumPy nor the
generator); it imports nothing but cocotb.
"""

import pathlib

from cocotb.triggers import First, RisingEdge, Timer


__all__ = ["HarnessDriver", "HarnessError"]

#: The wrapper's clock period in ns (:data:`cosim.harness.CLOCK_NS`; not imported from there,
#: which needs the generator).
CLOCK_NS = 10


class HarnessError(RuntimeError):
    """The harness did not finish within its cycle limit, or could not open its files."""


class HarnessDriver:
    """Drives a harness wrapper (which makes its own clock, period :data:`CLOCK_NS`).

    Parameters
    ----------
    dut : cocotb handle of the wrapper module
    config : :class:`rtl.config.AccelConfig` or None
        The accelerator's configuration; needed by :meth:`gemm` only.
    folder : path or None
        Where the job files go: the simulator's working folder (the default, ``.``), where the
        wrapper opens them.
    """

    def __init__(self, dut, config=None, *, folder=None):
        self.dut = dut
        self.config = config
        self.folder = pathlib.Path(folder or ".")

    async def reset(self, cycles=2):
        """Hold ``rst`` for ``cycles`` clock cycles with ``start`` low, then one more cycle."""
        dut = self.dut
        dut.start.value = 0
        dut.seed.value = 0
        for rate in (dut.weight_rate, dut.activation_rate, dut.result_rate):
            rate.value = 1 << 16
        dut.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        await RisingEdge(dut.clk)

    async def run(self, *, max_cycles, weight_rate=1 << 16, activation_rate=1 << 16,
                  result_rate=1 << 16, seed=0):
        """Run the jobs of the files in :attr:`folder`: ``(cycles, jobs)`` as the wrapper
        counted them. Rates are the wrapper's 17-bit inputs
        (:func:`cosim.harness.rate_value`). Raises :class:`HarnessError` after
        ``max_cycles`` cycles without ``finished``, with the beats taken so far, or when a
        file could not be opened."""
        dut = self.dut
        dut.weight_rate.value = weight_rate
        dut.activation_rate.value = activation_rate
        dut.result_rate.value = result_rate
        dut.seed.value = seed
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        finished = RisingEdge(dut.finished)
        fired = await First(finished, Timer(max_cycles * CLOCK_NS, unit="ns"))
        if fired is not finished:
            raise HarnessError(
                f"the harness did not finish within {max_cycles} cycles: "
                f"{dut.jobs.value.to_unsigned()} jobs done, "
                f"{dut.weights_taken.value.to_unsigned()} weight, "
                f"{dut.activations_taken.value.to_unsigned()} activation and "
                f"{dut.results_taken.value.to_unsigned()} result beats taken"
                + (", cmd_error set" if dut.cmd_error.value else ""))
        if dut.failed.value:
            raise HarnessError(f"the harness could not open its files in "
                               f"{self.folder.resolve()}")
        return dut.cycles.value.to_unsigned(), dut.jobs.value.to_unsigned()

    async def gemm(self, x, w, *, weight_rate=1.0, activation_rate=1.0, result_rate=1.0,
                   seed=0, max_cycles=None):
        """``Y = X @ W.T`` on the hardware, as :meth:`cosim.driver.AccelDriver.gemm`.

        The rates are probabilities (0 to 1) that a source offers a beat, or the sink is
        ready, on a cycle (the wrapper's seeded generators, ``seed`` a 32-bit integer); 1
        means every cycle. ``max_cycles`` (default: 20 times the cycle model plus 1000 per
        job) bounds the run. Returns :class:`cosim.driver.GemmResult`.
        """
        from .driver import GemmResult, check_gemm_operands, result_dtype
        from .harness import rate_value, read_results, seed_value, write_stimulus
        cfg = self.config
        rates = {name: rate_value(value, name) for name, value in (
            ("weight_rate", weight_rate), ("activation_rate", activation_rate),
            ("result_rate", result_rate))}
        seed = seed_value(seed)
        x, w = check_gemm_operands(x, w, cfg)
        job = write_stimulus(self.folder, cfg, x, w)
        if max_cycles is None:
            max_cycles = sum(20 * cfg.cycles(layout.m, job.k, job.n) + 1000
                             for layout in job.layouts)
        cycles, jobs = await self.run(max_cycles=max_cycles, seed=seed, **rates)
        y = read_results(self.folder, job).astype(result_dtype(cfg))
        return GemmResult(y=y, cycles=cycles, utilization=cfg.utilization(job.m, job.k, job.n,
                                                                           cycles), jobs=jobs)
