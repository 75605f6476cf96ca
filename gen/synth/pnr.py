"""Place and route with nextpnr, and its timing: Fmax, utilization and the critical path."""

import json
import pathlib
import re
import time

from .pins import constraints, gowin_pins, nexus_pins, port_bits
from .targets import DEVICES
from .tools import SynthError, run


__all__ = ["place_and_route", "critical_path"]


def place_and_route(target, device, folder, netlist, freq_mhz, timeout):
    """Place and route the JSON ``netlist`` in ``folder`` on ``device`` aiming at
    ``freq_mhz``; return the report's ``pnr`` section.

    ``ecp5`` is placed out of context (the array's ports exceed every package's pins);
    the others have no such mode, so every port gets a pin: ``ice40`` chooses them itself,
    ``gowin`` and ``nexus`` refuse an unconstrained port, so the flow writes
    ``constraints.cst`` / ``constraints.pdc`` with a pin for each port bit
    (:mod:`~gen.synth.pins`). nextpnr runs with seed 1 and ``--timing-allow-fail``: the
    section gives the Fmax reached, pass or fail. Raises :class:`SynthError` if the package
    has too few pins, or nextpnr fails, times out or writes no timing report.
    """
    tool = f"nextpnr-{target}"
    args = [*DEVICES[target][device], "--json", netlist, "--report", "pnr_report.json",
            "--freq", f"{freq_mhz:g}", "--timing-allow-fail", "--seed", "1"]
    if target == "ecp5":
        # The array's ports exceed every package's pins: place it as a block inside a
        # larger design, without IO buffers.
        args.append("--out-of-context")
    elif target == "ice40":
        args.append("--pcf-allow-unconstrained")
    else:
        args += _pin_constraints(target, device, folder, netlist)
    began = time.perf_counter()
    log_path = pathlib.Path(folder) / "nextpnr.log"
    try:
        text = run(tool, args, folder, "nextpnr.log", timeout)
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
        "critical_path": critical_path(report),
    }


def _pin_constraints(target, device, folder, netlist):
    """Write the constraint file that puts each port bit of ``netlist`` on a pin of
    ``device``'s package; return nextpnr's arguments for it.

    Gowin: the chip family is the device's ``--vopt family=``, the package its part number
    without the speed grade (``GW2A-LV18PG256C8/I7`` -> ``GW2A-LV18PG256``), as nextpnr reads
    them. Nexus: ``LIFCL-40-9BG400C`` is chip ``LIFCL-40``, package ``BG400``; the router is
    ``router1``, since the WebAssembly nextpnr-nexus 0.10 stops with a trap (``unreachable``)
    in router2 right after ``Setting up routing resources`` even on a 2x2 array.
    """
    data = json.loads((pathlib.Path(folder) / netlist).read_text())
    top = next(name for name, module in data["modules"].items()
               if module.get("attributes", {}).get("top"))
    clocks, others = port_bits(data, top)
    if target == "gowin":
        family = next(arg.split("=", 1)[1] for arg in DEVICES[target][device]
                      if arg.startswith("family="))
        pins = gowin_pins(family, re.fullmatch(r"(.*)C\d/I\d", device).group(1))
        name, extra = "constraints.cst", ["--vopt", "cst=constraints.cst"]
    else:
        chip, package = re.fullmatch(r"(\w+-\d+)-\d(\w+?)[CI]", device).groups()
        pins = nexus_pins(chip, package)
        name, extra = "constraints.pdc", ["--pdc", "constraints.pdc", "--router", "router1"]
    (pathlib.Path(folder) / name).write_text(constraints(target, pins, clocks, others, device))
    return extra


def critical_path(report):
    """A summary of nextpnr's first critical path in its JSON ``report``: start and end, the
    logic and routing delays, the cells it goes through in order and the top-level blocks
    they belong to; ``None`` without a path."""
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
