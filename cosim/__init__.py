"""Co-simulation of the generated accelerator against the golden model.

* :func:`run_gemm` — one GEMM on the simulated hardware from plain Python;
  :func:`run_axi_queue` — several as a queue on the memory-mapped top.
* :class:`AccelDriver` — the transaction-level cocotb driver (``await driver.gemm(x, w)``).
* :class:`JobLayout` — how a GEMM maps onto the three streams.
* :mod:`cosim.build` builds a Verilator simulator once per Verilog text and tool versions;
  :mod:`cosim.runner` runs cocotb jobs in it (``run_gemm``, the transformer, the benches).

The names are imported on first use, so that a simulator process that imports one module of
the package (``cosim._gemm_job``) does not import the generator and NumPy with it.
"""

import importlib

__all__ = ["run_gemm", "run_axi_queue", "AccelDriver", "GemmResult", "JobLayout"]

_HOMES = {"run_gemm": ".api", "run_axi_queue": ".api", "AccelDriver": ".driver",
          "GemmResult": ".driver", "JobLayout": ".layout"}


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module 'cosim' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name], __name__), name)
