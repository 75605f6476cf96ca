"""Co-simulation of the generated accelerator against the golden model.

* :func:`run_gemm` — one GEMM on the simulated hardware from plain Python.
* :class:`AccelDriver` — the transaction-level cocotb driver (``await driver.gemm(x, w)``).
* :class:`JobLayout` — how a GEMM maps onto the three streams.
* :mod:`cosim.build` builds a Verilator simulator once per Verilog text and tool versions;
  :mod:`cosim.runner` runs cocotb jobs in it (``run_gemm``, the transformer, the benches).
"""

from .api import run_gemm
from .driver import AccelDriver, GemmResult
from .layout import JobLayout

__all__ = ["run_gemm", "AccelDriver", "GemmResult", "JobLayout"]
