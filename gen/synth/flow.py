"""The synthesis flow: the design, its breakdown, place and route, and ``report.json``.

:func:`synthesize` runs yosys twice (the design; then, unless ``breakdown=False``, the array,
the weight store, its decoder and the PE modules alone) and nextpnr once with ``pnr=True``,
and writes the report. Every figure of one report comes from the design's own synthesis
options (``dsp_inference``), except the ``int8`` and ``int8_nodsp`` entries of
``pe_comparison``, which say so: their ``dsp_inference`` is fixed on and off. The report's
keys are documented in ``docs/synthesis.md``; scripts read them, so they change only with
:data:`REPORT_SCHEMA`. :func:`synthesize_module` synthesizes one module of a design alone
(no report file), for parts of designs too large to synthesize whole.
"""

import dataclasses
import json
import pathlib
import re
import time

from rtl.array import pe_module_name, pe_variants
from rtl.config import AccelConfig, MAX_ACC_BITS

from ..emit import emit_pe_verilog, emit_verilog
from .pnr import place_and_route
from .scripts import coarse_script, memory_listing, synth_command
from .stats import (COUNTED, IGNORED_CELLS, MUL_CELLS, check_complete, counted, memories, ratio,
                    read_stat, resources, scale, weight_store, weighted_pe)
from .targets import DEFAULT_FREQ_MHZ, DEFAULT_TIMEOUT_S, check_target
from .tools import run, tool_versions


__all__ = ["REPORT_SCHEMA", "synthesize", "synthesize_module"]

#: Version of the report's layout; bumped when a key changes meaning or disappears.
REPORT_SCHEMA = 2

#: Files a run writes into its folder besides ``design.v`` and its scripts.
_OUTPUTS = ("report.json", "coarse_stat.json", "design_stat.json", "breakdown_*.json",
            "memory_*.txt", "netlist.json", "pnr_report.json", "yosys.log",
            "yosys_breakdown.log", "nextpnr.log", "constraints.cst", "constraints.pdc")


def synthesize(config, target, folder, *, pnr=False, device=None, freq_mhz=DEFAULT_FREQ_MHZ,
               dsp=True, breakdown=True, timeout=DEFAULT_TIMEOUT_S, verilog=None):
    """Synthesize ``config``'s design for ``target`` in ``folder`` (created), optionally
    place and route it, write ``folder/report.json`` and return the report.

    Parameters
    ----------
    config : AccelConfig
    target : str
        One of :data:`~gen.synth.targets.TARGETS`.
    folder : path
        Where the scripts, logs, netlists and ``report.json`` go.
    pnr : bool
        Also place and route with nextpnr (``ecp5``: out of context; ``ice40``, ``gowin``
        and ``nexus``: with every port on a pin, so only small configurations fit).
    device : str or None
        A key of ``DEVICES[target]``; default :data:`~gen.synth.targets.DEFAULT_DEVICES`.
    freq_mhz : float
        nextpnr's target frequency (the report's Fmax is what it reached, pass or fail).
    dsp : bool
        Let yosys map multiplications to DSP blocks (``synth_ecp5`` and ``synth_xilinx``
        without ``-nodsp``, ``synth_ice40 -dsp``): for the design, the array alone and the PE
        modules alone (``per_pe``, ``pe_comparison.ternary``). Only ``pe_comparison.int8``
        and ``pe_comparison.int8_nodsp`` differ, with DSP inference on and off.
    breakdown : bool
        Also synthesize the array alone, the weight store and its decoder alone, each PE
        module alone, and the other PE kind's modules for the ternary / int8 comparison (the
        ``per_pe``, ``array``, ``weight_path`` and ``pe_comparison`` sections; ``None``
        without it).
    timeout : float
        Seconds allowed to each tool run; a run that takes longer is killed.
    verilog : str or None
        The design's Verilog if already generated (it must be ``emit_verilog(config)``).

    Raises
    ------
    TypeError
        ``config`` is not an :class:`~rtl.config.AccelConfig`.
    ValueError
        An unknown target or device, or place and route on a target without it.
    SynthError
        A tool is missing, failed, timed out, or stopped without completing its report.
    """
    if not isinstance(config, AccelConfig):
        raise TypeError(f"config must be an AccelConfig, not {config!r}")
    device = check_target(target, pnr=pnr, device=device)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # Remove what an earlier run wrote here (only that), so that no stale file is read back.
    for pattern in _OUTPUTS:
        for stale in folder.glob(pattern):
            stale.unlink()
    top = config.name
    (folder / "design.v").write_text(verilog if verilog is not None else emit_verilog(config))

    # 1. The design: multipliers before mapping, then the full synthesis (timed alone).
    netlist = "netlist.json" if pnr else None
    script = ["read_verilog design.v", "design -save source", *coarse_script(top),
              "tee -q -o coarse_stat.json stat -json", "design -load source",
              *synth_command(target, top, dsp=dsp, json_file=netlist),
              "tee -q -o design_stat.json stat -json", *memory_listing(target)]
    synth_seconds, log_path = _run_yosys(folder, "design", script, "yosys.log", top, timeout)
    coarse, creator = read_stat(folder, "coarse_stat.json", top, log_path)
    cells, _ = read_stat(folder, "design_stat.json", top, log_path)
    mul_cells = sum(count for cell, count in coarse.items() if MUL_CELLS.fullmatch(cell))
    design = resources(target, cells)
    found = memories(folder, target)

    report = {
        "schema": REPORT_SCHEMA,
        "target": target,
        "device": device,
        "top": top,
        "pe": config.pe,
        "rows": config.rows,
        "cols": config.cols,
        "pe_count": config.pe_count,
        "config": config.as_dict(),
        "config_digest": config.digest,
        "yosys": creator,
        "tools": tool_versions(),
        "synth_command": "; ".join(synth_command(target, top, dsp=dsp)),
        "dsp_inference": dsp,
        "synth_seconds": round(synth_seconds, 1),
        **counted(design),
        "mul_cells": mul_cells,
        "cells": {cell: count for cell, count in sorted(cells.items())
                  if cell not in IGNORED_CELLS},
        "memories": found,
        "weight_store": weight_store(found, config),
        "design_per_pe": scale(design, 1 / config.pe_count),
        "per_pe": None,
        "array": None,
        "weight_path": None,
        "pe_comparison": None,
        "front_end": None,
        "pnr": None,
        "fmax_mhz": None,
    }

    # 2. The breakdown: the array, the weight store and its decoder alone, every PE module
    #    alone, and the other PE kind.
    if breakdown:
        report.update(_breakdown(config, target, folder, timeout, dsp))

    # 3. Place and route.
    if pnr:
        report["pnr"] = place_and_route(target, device, folder, netlist, freq_mhz, timeout)
        report["fmax_mhz"] = report["pnr"]["fmax_mhz"]

    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def synthesize_module(verilog, module, target, folder, *, dsp=True,
                      timeout=DEFAULT_TIMEOUT_S):
    """Synthesize one module of ``verilog`` alone (with the modules it instantiates) for
    ``target`` in ``folder`` (created) and return its counts (as a report's ``array``
    section), its ``memories`` and ``synth_seconds``. For a module of a design too large to
    synthesize whole in reasonable time, such as the weight store (``<name>.store``) or the
    array (``<name>.array``) of a 64x64 accelerator from ``emit_verilog``.

    Raises :class:`SynthError` as :func:`synthesize` does; ``TypeError`` if ``verilog`` or
    ``module`` is not a string, ``ValueError`` for an empty module name or an unknown target.
    """
    if not isinstance(verilog, str):
        raise TypeError(f"verilog must be Verilog text (a str), not {type(verilog).__name__}")
    if not isinstance(module, str):
        raise TypeError(f"module must be a module name (a str), not {module!r}")
    if not module:
        raise ValueError("module must name a module of the Verilog, not ''")
    check_target(target, pnr=False, device=None)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for pattern in ("module_stat.json", "memory_*.txt", "yosys_module.log"):
        for stale in folder.glob(pattern):
            stale.unlink()
    (folder / "module.v").write_text(verilog)
    script = ["read_verilog module.v", *synth_command(target, module, dsp=dsp),
              "tee -q -o module_stat.json stat -json", *memory_listing(target)]
    seconds, log_path = _run_yosys(folder, "module", script, "yosys_module.log", module,
                                   timeout)
    cells, _ = read_stat(folder, "module_stat.json", module, log_path)
    return {**counted(resources(target, cells)), "module": module, "dsp_inference": dsp,
            "memories": memories(folder, target), "synth_seconds": round(seconds, 1)}


def _run_yosys(folder, name, script, log_name, top, timeout):
    """Write ``script`` to ``<name>.ys`` in ``folder``, run yosys on it and check that it
    finished (:func:`check_complete`; an exit status alone is not trusted); returns
    ``(seconds, log path)``."""
    (folder / f"{name}.ys").write_text("\n".join(script) + "\n")
    began = time.perf_counter()
    text = run("yosys", ["-s", f"{name}.ys"], folder, log_name, timeout)
    seconds = time.perf_counter() - began
    log_path = folder / log_name
    check_complete(text, log_path, f"synthesizing {top}")
    return seconds, log_path


def _has_module(verilog, module):
    """Whether the Verilog text defines ``module`` (plain or escaped identifier)."""
    return re.search(rf"^module \\?{re.escape(module)}\s*\(", verilog, re.M) is not None


def _other_pe_config(config):
    """The configuration whose PE modules the report compares with ``config``'s: the same
    array with the other PE kind (widths from its own psum rule; the accumulator is not
    synthesized, so its width is only made valid)."""
    other = "int8" if config.pe == "ternary" else "ternary"
    return dataclasses.replace(config, pe=other, weight_format=None, acc_bits=MAX_ACC_BITS)


def core_module(config):
    """The stream core's module: the top itself, or ``<name>.core`` inside the memory-mapped
    top."""
    return f"{config.name}.core" if config.interface == "axi" else config.name


def front_end_modules(config):
    """The memory-mapped top's blocks outside the core (none for the stream top)."""
    if config.interface != "axi":
        return []
    from rtl import interface
    return ["registers", "counts", *(f"weight_reader{port}" for port in
                                     range(interface.weight_ports(config))),
            "activation_reader", "result_writer"]


def _breakdown(config, target, folder, timeout, dsp):
    """The ``per_pe``, ``array``, ``weight_path`` and ``pe_comparison`` sections, from one
    yosys run that synthesizes the array module, the weight store module, its decoder and
    every PE module alone.

    The array, the weight store, the design's PE modules and the ternary PE modules use the
    design's ``dsp``; the int8 PE modules are synthesized with DSP inference on (``int8``)
    and off (``int8_nodsp``), and the design's own ``per_pe`` is the entry whose option is ``dsp``.
    Runs with the same module and yosys command are done once.
    """
    other = _other_pe_config(config)
    (folder / "pes.v").write_text(emit_pe_verilog(config) + emit_pe_verilog(other))
    int8 = config if config.pe == "int8" else other
    ternary = other if config.pe == "int8" else config
    # Each comparison entry: (its configuration, its DSP inference).
    entries = {"ternary": (ternary, dsp), "int8": (int8, True), "int8_nodsp": (int8, False)}
    own = "ternary" if config.pe == "ternary" else ("int8" if dsp else "int8_nodsp")

    core = core_module(config)
    array_module = f"{core}.array"
    runs = {}               # (source, module, yosys command) -> index of its stat file

    def job(source, module, with_dsp):
        key = (source, module, tuple(synth_command(target, module, dsp=with_dsp)))
        return runs.setdefault(key, len(runs))

    array_run = job("design", array_module, dsp)
    store_module, decoder_module = f"{core}.store", f"{core}.store.decoder"
    store_run = job("design", store_module, dsp)
    # The int8 baseline's weight lanes are wires, which the Verilog inlines: no module.
    design_text = (folder / "design.v").read_text()
    decoder_run = (job("design", decoder_module, dsp)
                   if _has_module(design_text, decoder_module) else None)
    front_runs = {module: job("design", f"{config.name}.{module}", dsp)
                  for module in front_end_modules(config)}
    entry_runs = {kind: {pe_module_name(cfg, in_bits, out_bits):
                         job("pes", pe_module_name(cfg, in_bits, out_bits), with_dsp)
                         for in_bits, out_bits in sorted(set(pe_variants(cfg).values()))}
                  for kind, (cfg, with_dsp) in entries.items()}

    script = ["read_verilog design.v", "design -save design", "design -reset",
              "read_verilog pes.v", "design -save pes"]
    for (source, module, command), index in runs.items():
        script += [f"design -load {source}", *command,
                   f"tee -q -o breakdown_{index}.json stat -json"]
    (folder / "breakdown.ys").write_text("\n".join(script) + "\n")
    began = time.perf_counter()
    text = run("yosys", ["-s", "breakdown.ys"], folder, "yosys_breakdown.log", timeout)
    seconds = time.perf_counter() - began
    log_path = folder / "yosys_breakdown.log"
    check_complete(text, log_path, "synthesizing the array and the PE modules")
    stats = {index: read_stat(folder, f"breakdown_{index}.json", module, log_path)[0]
             for (_, module, _), index in runs.items()}

    array = resources(target, stats[array_run])
    store = resources(target, stats[store_run])
    decoder = None if decoder_run is None else resources(target, stats[decoder_run])
    means = {kind: weighted_pe(target, {module: stats[index]
                                        for module, index in entry_runs[kind].items()}, cfg)
             for kind, (cfg, _) in entries.items()}
    t, i, n = (means[kind][0] for kind in ("ternary", "int8", "int8_nodsp"))
    comparison = {
        "method": "each PE module synthesized alone, averaged over the array's rows (every "
                  "column is the same); the ternary PE with the design's DSP option, the "
                  "int8 PE with DSP inference on and off",
        "dsp_inference": {kind: with_dsp for kind, (_, with_dsp) in entries.items()},
        "ternary": t, "int8": i, "int8_nodsp": n,
        "ratio": {
            "luts_vs_int8_nodsp": ratio(t["luts"], n["luts"]),
            "lut_equivalents_vs_int8_nodsp": ratio(t["lut_equivalents"], n["lut_equivalents"]),
            "ffs_vs_int8_nodsp": ratio(t["ffs"], n["ffs"]),
            "luts_vs_int8": ratio(t["luts"], i["luts"]),
            "ffs_vs_int8": ratio(t["ffs"], i["ffs"]),
            "dsps_vs_int8": ratio(t["dsps"], i["dsps"]),
        },
        "seconds": round(seconds, 1),
    }
    mean, modules = means[own]
    front_end = None
    if front_runs:
        parts = {module: resources(target, stats[index]) for module, index in front_runs.items()}
        total = {key: sum(part[key] for part in parts.values()) for key in COUNTED}
        front_end = {
            "method": "each block of the memory-mapped top outside the core synthesized alone "
                      "(the registers, the job's beat counts, every reader and the writer with "
                      "their FIFOs), summed",
            "dsp_inference": dsp,
            "modules": {module: counted(part) for module, part in parts.items()},
            "total": counted(total),
            "vs_array": {key: ratio(total[key], array[key])
                         for key in ("luts", "lut_equivalents", "ffs")},
        }
    return {
        "front_end": front_end,
        "per_pe": {**mean, "modules": modules, "dsp_inference": dsp,
                   "method": "the design's PE modules synthesized alone, weighted by the "
                             "rows that use each: resources of one PE, averaged over the "
                             "R*C PEs"},
        "array": {**counted(array), "module": array_module, "dsp_inference": dsp,
                  "per_pe": scale(array, 1 / config.pe_count)},
        "weight_path": {
            "module": store_module, "dsp_inference": dsp,
            "method": "the weight store module alone (decoder, beat register, banks, their "
                      "read registers, slot control) and its decoder alone, against the "
                      "array module alone",
            "store": counted(store),
            "decoder": None if decoder is None else {**counted(decoder),
                                                     "module": decoder_module},
            "vs_array": {key: ratio(store[key], array[key])
                         for key in ("luts", "lut_equivalents", "ffs")},
        },
        "pe_comparison": comparison,
    }
