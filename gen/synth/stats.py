"""Reading yosys' statistics: cell types into resource categories, per-PE means, and the
memories of a synthesized design.

A run is trusted only if its log ends with yosys' ``End of script`` and every statistics file
it was asked for exists and names the module: YoWASP yosys on wasmtime 37 or newer stops inside
ABC with exit status 0 and no statistics, and that must not pass for a small design.
"""

import json
import pathlib
import re

from amaranth import Shape

from rtl.array import pe_module_name, pe_variants, weight_shape

from .scripts import MEMORY_CELLS
from .tools import SynthError, last_line, wasmtime_hint


__all__ = ["CATEGORIES", "COUNTED", "IGNORED_CELLS", "MUL_CELLS", "MEMORY_ROLES",
           "FRONT_END_BLOCK", "memory_role", "resources",
           "counted", "read_stat", "check_complete", "scale", "weighted_pe", "ratio",
           "memories", "weight_store"]

# Cell types of each category, per target (regular expressions over the whole type name).
# ``luts`` are LUT cells only; ``carry`` the carry-chain cells beside them; ``lutram`` LUTs
# used as memory.
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
    # yosys' techlibs/gowin: LUT1-4, MUX2_LUT5-8 (the slice's wide-function muxes), ALU (one
    # LUT4 position in ALU mode), DFF* (DFF, DFFE, DFFR, DFFRE, DFFS, DFFN...), BSRAM
    # (SP/SPX9, SDPB/SDPX9B, DPB/DPX9B, pROM), shadow SRAM (RAM16S*, RAM16SDP*), DSP
    # (MULT9X9, MULT18X18, MULT36X36, MULTALU*, MULTADDALU18X18, ALU54D, PADD9/18).
    "gowin": {
        "luts": r"LUT[1-4]", "lut_muxes": r"MUX2_LUT[5-8]", "carry": r"ALU",
        "ffs": r"DFFN?[RSCPE]*", "brams": r"S?DPX?9?B?|SPX?9?|p?ROMX?9?",
        "lutram": r"RAM16S(DP)?[124]", "dsps": r"MULT\w+|ALU54D|PADD(9|18)",
    },
    # yosys' techlibs/lattice for synth_nexus: LUT4 and INV (a LUT4 position), WIDEFN9 (two
    # LUT4s and the slice's mux), CCU2 (two LUT4s of a carry chain), FD1P3*/FD1S3* flip-flops,
    # EBR (DP16K, PDP16K, PDPSC16K, SP16K) and large RAM (DPSC512K, SP512K), DPR16X4 LUT RAM,
    # DSP (MULT9X9, MULT18X18, MULT18X36, MULT36X36 and their *_CORE parts).
    "nexus": {
        "luts": r"LUT4|INV", "lut_muxes": r"WIDEFN9", "carry": r"CCU2",
        "ffs": r"FD1[PS]3[A-Z]X", "brams": r"P?DP(SC)?16K|SP16K|DPSC512K|SP512K",
        "lutram": r"DPR16X4|SPR16X4", "dsps": r"MULT\w+|PREADD9|REG18|ACC54",
    },
}

#: LUT4 positions per cell beyond ``luts``, per target, for ``lut_equivalents``: an ECP5
#: CCU2C or a Nexus CCU2 holds two LUT4s, a Gowin ALU one, a Nexus WIDEFN9 two.
_LUT_POSITIONS = {"ecp5": {"carry": 2}, "gowin": {"carry": 1},
                  "nexus": {"carry": 2, "lut_muxes": 2}}

#: Resource categories of a report, in its order.
CATEGORIES = ("luts", "lut_muxes", "carry", "ffs", "brams", "lutram", "dsps")
#: The categories and ``lut_equivalents``: every count a report section carries.
COUNTED = (*CATEGORIES, "lut_equivalents")
#: Cells that are no hardware.
IGNORED_CELLS = frozenset({"$scopeinfo"})
#: Multiplications before technology mapping (``coarse_script``).
MUL_CELLS = re.compile(r"\$mul|\$macc(_v2)?")

#: Top-level submodules whose memories the report names (``rtl/top.py``).
MEMORY_ROLES = {"store": "weight_store", "acc": "accumulator", "result_queue": "result_queue"}


def resources(target, cells_by_type):
    """Resource counts of one synthesized module from its ``{cell type: count}``.

    Returns ``luts``, ``lut_muxes``, ``carry``, ``ffs``, ``brams``, ``lutram``, ``dsps``,
    ``lut_equivalents`` (LUT4 positions: ECP5 LUT4 + 2 per CCU2C, Gowin LUTs + 1 per ALU,
    Nexus LUT4 and INV + 2 per CCU2 and per WIDEFN9; elsewhere the LUT count) and ``other``
    (cells of no category, by type).
    """
    classes = _CELL_CLASSES[target]
    counts = {category: 0 for category in CATEGORIES}
    other = {}
    for cell, count in sorted(cells_by_type.items()):
        if cell in IGNORED_CELLS:
            continue
        for category, pattern in classes.items():
            if re.fullmatch(pattern, cell):
                counts[category] += count
                break
        else:
            other[cell] = count
    counts["lut_equivalents"] = counts["luts"] + sum(
        positions * counts[category]
        for category, positions in _LUT_POSITIONS.get(target, {}).items())
    counts["other"] = other
    return counts


def counted(counts):
    """Only the :data:`COUNTED` entries of :func:`resources`' result."""
    return {key: counts[key] for key in COUNTED}


def read_stat(folder, name, module, log_path):
    """``({cell type: count}, yosys version line)`` of ``module`` from the ``stat -json``
    file ``folder/name``; raises :class:`SynthError` if the file is missing, truncated or
    does not name the module."""
    path = pathlib.Path(folder) / name
    try:
        stat = json.loads(path.read_text())
    except FileNotFoundError:
        raise SynthError(f"yosys printed no statistics for {module} ({name} is missing); the "
                         f"run is incomplete (log: {log_path}).{wasmtime_hint()}") from None
    except json.JSONDecodeError as error:
        raise SynthError(f"yosys' statistics for {module} are incomplete ({name}: {error}); "
                         f"log: {log_path}.{wasmtime_hint()}") from None
    modules = stat.get("modules", {})
    entry = modules.get("\\" + module) or modules.get(module)
    if entry is None or "num_cells_by_type" not in entry:
        raise SynthError(f"yosys' statistics in {name} do not contain module {module}; "
                         f"log: {log_path}")
    return entry["num_cells_by_type"], stat.get("creator", "")


def check_complete(text, log_path, what):
    """Raise :class:`SynthError` unless the yosys log ``text`` reached ``End of script``."""
    if "End of script." not in text:
        raise SynthError(f"yosys stopped before the end of its script while {what} (exit "
                         f"status 0, but no 'End of script' in {log_path}; last line: "
                         f"{last_line(text)}).{wasmtime_hint()}")


def scale(counts, factor):
    """Every count of ``counts`` except ``other``, times ``factor``, rounded to 0.01."""
    return {key: round(value * factor, 2) for key, value in counts.items() if key != "other"}


def weighted_pe(target, stats, config):
    """``(mean, modules)``: the mean resources per PE of ``config``'s array from the stats of
    its PE modules (``{module name: cells by type}``), each weighted by the number of array
    rows that use it (every column is the same), and each module's own counts."""
    rows_per_shape = {}
    for shape in pe_variants(config).values():
        rows_per_shape[shape] = rows_per_shape.get(shape, 0) + 1
    total = {key: 0.0 for key in COUNTED}
    modules = []
    for (in_bits, out_bits), rows in sorted(rows_per_shape.items()):
        name = pe_module_name(config, in_bits, out_bits)
        counts = resources(target, stats[name])
        modules.append({"module": name, "rows": rows, **scale(counts, 1)})
        for key in total:
            total[key] += counts[key] * rows
    return scale(total, 1 / config.rows), modules


def ratio(a, b):
    """``a / b`` rounded to 0.001, ``None`` when ``b`` is 0."""
    if b == 0:
        return None
    return round(a / b, 3)


def _is_bram(target, cell_type):
    return bool(re.fullmatch(_CELL_CLASSES[target]["brams"], cell_type))


def _natural(name):
    """Sort key that puts ``store.bank_2`` before ``store.bank_10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


#: The memory-mapped top's own blocks (``rtl/axi/top.py``): their FIFOs are the front end's.
FRONT_END_BLOCK = re.compile(r"weight_reader\d+|activation_reader|result_writer|registers|counts")


def memory_role(memory):
    """The role of a memory by its path: :data:`MEMORY_ROLES` of its block (inside the
    memory-mapped top's ``core`` too), ``front_end`` for the memory-mapped top's readers and
    writer, else ``other``."""
    parts = memory.split(".")
    if parts[0] == "core" and len(parts) > 1:
        return MEMORY_ROLES.get(parts[1], "other")
    if FRONT_END_BLOCK.fullmatch(parts[0]):
        return "front_end"
    return MEMORY_ROLES.get(parts[0], "other")


def memories(folder, target):
    """The memory primitives of the synthesized design (from the ``memory_<index>.txt``
    listings), grouped by the memory they implement (``store.bank_0``, ``acc.storage``),
    with its role from :data:`MEMORY_ROLES` and whether every primitive is block RAM. A memory
    that yosys turned into flip-flops has no primitive and is not listed."""
    groups = {}
    for index, cell_type in enumerate(MEMORY_CELLS[target]):
        path = pathlib.Path(folder) / f"memory_{index}.txt"
        for line in path.read_text().split() if path.exists() else ():
            name = line.split("/", 1)[1] if "/" in line else line
            # store.bank_0.0.1 -> store.bank_0 (yosys numbers the primitives of a memory).
            memory = re.sub(r"(\.\d+)+$", "", name.lstrip("\\"))
            by_type = groups.setdefault(memory, {})
            by_type[cell_type] = by_type.get(cell_type, 0) + 1
    return [{"memory": memory, "role": memory_role(memory),
             "cells": dict(sorted(groups[memory].items())),
             "block_ram": all(_is_bram(target, cell_type) for cell_type in groups[memory])}
            for memory in sorted(groups, key=_natural)]


def weight_store(entries, config):
    """The report's ``weight_store``: the banks of :class:`~rtl.weight_store.WeightStore`
    (``rows`` memories of ``weight_store_tiles`` words of ``cols`` decoded weights) and the
    primitives they became, summed; ``block_ram`` is true only if every bank is block RAM,
    ``distributed`` if every bank that became a memory primitive is LUT RAM; ``mapped_banks``
    below ``banks`` means yosys made the others flip-flops."""
    banks = [entry for entry in entries if entry["role"] == "weight_store"]
    cells = {}
    for entry in banks:
        for cell, count in entry["cells"].items():
            cells[cell] = cells.get(cell, 0) + count
    width = config.cols * Shape.cast(weight_shape(config)).width
    return {
        "banks": config.rows,
        "depth": config.weight_store_tiles,
        "width": width,
        "bits": config.rows * config.weight_store_tiles * width,
        "mapped_banks": len(banks),
        "cells": dict(sorted(cells.items())),
        "block_ram": len(banks) == config.rows and all(entry["block_ram"] for entry in banks),
        "distributed": bool(banks) and not any(entry["block_ram"] for entry in banks),
    }
