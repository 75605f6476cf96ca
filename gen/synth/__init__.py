"""Synthesis of a generated design with yosys, place and route with nextpnr, and the report.

``python -m gen ... --synth TARGET [--pnr]`` calls :func:`synthesize`, which writes
``synth/report.json`` beside the Verilog and returns the same report as a dict;
:func:`format_report` prints it as a table. ``docs/synthesis.md`` documents the report.

Modules:

* :mod:`~gen.synth.targets`: targets, devices and every default of the flow;
* :mod:`~gen.synth.tools`: finding and running the tools, :class:`SynthError`;
* :mod:`~gen.synth.scripts`: the yosys scripts;
* :mod:`~gen.synth.stats`: yosys' statistics as resource counts, per-PE means, memories;
* :mod:`~gen.synth.pnr`: nextpnr, Fmax and the critical path;
* :mod:`~gen.synth.pins`: the package pins of the Gowin and Nexus devices, from nextpnr's
  chip databases, and the constraint files that put every port on one;
* :mod:`~gen.synth.flow`: :func:`synthesize` and ``report.json``, :func:`synthesize_module`
  (one module alone);
* :mod:`~gen.synth.table`: :func:`format_report`.
"""

from .flow import REPORT_SCHEMA, synthesize, synthesize_module
from .stats import MEMORY_ROLES, resources
from .table import format_report
from .targets import (DEFAULT_DEVICES, DEFAULT_FREQ_MHZ, DEFAULT_TIMEOUT_S, DEVICES,
                      PNR_TARGETS, TARGETS)
from .tools import SynthError, tool_versions


__all__ = ["TARGETS", "PNR_TARGETS", "DEVICES", "DEFAULT_DEVICES", "DEFAULT_FREQ_MHZ",
           "DEFAULT_TIMEOUT_S", "REPORT_SCHEMA", "MEMORY_ROLES", "SynthError", "synthesize",
           "synthesize_module", "format_report", "resources", "tool_versions"]
