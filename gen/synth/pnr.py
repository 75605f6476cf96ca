"""Place and route with nextpnr, and its timing: Fmax, utilization and the critical path."""

import json
import pathlib
import time

from .targets import DEVICES
from .tools import SynthError, run


__all__ = ["place_and_route", "critical_path"]


def place_and_route(target, device, folder, netlist, freq_mhz, timeout):
    """Place and route the JSON ``netlist`` in ``folder`` on ``device`` aiming at
    ``freq_mhz``; return the report's ``pnr`` section.

    ``ecp5`` is placed out of context (the array's ports exceed every package's pins);
    ``ice40`` has no such mode, so every port gets a pin. nextpnr runs with seed 1 and
    ``--timing-allow-fail``: the section gives the Fmax reached, pass or fail. Raises
    :class:`SynthError` if nextpnr fails, times out or writes no timing report.
    """
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
