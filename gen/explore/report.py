"""What a sweep leaves: the Pareto fronts marked in its rows, ``explore.csv``,
``explore.json``, the two plots, and the summary it prints.

A row is one point's dict (:mod:`gen.explore.cli`): its axes, its synthesis figures, and per
phase ``<phase>_cycles_per_token``, ``_bytes_per_token``, ``_tokens_per_s``,
``_memory_bound``, ``_j_per_token``, ``_tokens_per_j``. The CSV has one column per key that
any row has, in first-seen order, floats to six significant digits, ``None`` empty. The JSON
document holds the rows and the sweep's settings (the command, the model, the memory, the
clock, the phases, the fronts, the wall time).
"""

import csv
import io
import json
import os

from .pareto import pareto_front


__all__ = ["OUTPUTS", "mark_fronts", "csv_text", "write", "summary"]

#: Files of the output folder.
OUTPUTS = {"csv": "explore.csv", "json": "explore.json", "area": "explore_area.png",
           "energy": "explore_energy.png"}

#: Statuses the summary counts, in its order.
STATUSES = ("ok", "failed", "timeout", "not built", "not synthesized")


def mark_fronts(rows, speed_key, efficiency_key, *, synthesized):
    """Set each row's ``pareto_area`` (fewer ``lut_equivalents``, more ``speed_key``) and
    ``pareto_energy`` (more ``speed_key``, more ``efficiency_key``); return both fronts'
    indices. With ``synthesized``, only rows of status ``ok`` compete: a design that failed is
    no candidate, whatever its cycle model says."""
    eligible = [row if not synthesized or row["status"] == "ok" else {} for row in rows]
    area = pareto_front(eligible, [("lut_equivalents", "min"), (speed_key, "max")])
    efficient = pareto_front(eligible, [(speed_key, "max"), (efficiency_key, "max")])
    for index, row in enumerate(rows):
        row["pareto_area"] = index in area
        row["pareto_energy"] = index in efficient
    return area, efficient


def _cell(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


def csv_text(rows):
    """The rows as CSV text (module docstring)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    handle = io.StringIO()
    writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(row.get(key)) for key in columns})
    return handle.getvalue()


def write(folder, document):
    """Write the CSV, the JSON and the plots (the area plot when its front has points, that
    is with synthesis; the energy plot likewise) into ``folder`` (created); return the paths
    written."""
    from . import plots
    os.makedirs(folder, exist_ok=True)
    paths = {key: os.path.join(folder, name) for key, name in OUTPUTS.items()}
    rows, headline = document["points"], document["headline"]
    with open(paths["csv"], "w", encoding="utf-8", newline="") as handle:
        handle.write(csv_text(rows))
    with open(paths["json"], "w", encoding="utf-8") as handle:
        handle.write(json.dumps(document, indent=1) + "\n")
    written = [paths["csv"], paths["json"]]
    model = os.path.basename(os.path.normpath(document["model"]["path"]))
    title = f"{model}, {document['memory']['name']}, {headline['phase']}"
    if document["pareto_area"]:
        plots.plot_area(rows, document["pareto_area"], headline["tokens_per_s"],
                        paths["area"], title)
        written.append(paths["area"])
    if document["pareto_energy"]:
        plots.plot_energy(rows, document["pareto_energy"], headline["tokens_per_s"],
                          headline["tokens_per_j"], paths["energy"], title)
        written.append(paths["energy"])
    return written


def _minutes(seconds):
    return f"{int(seconds) // 60}m{int(round(seconds)) % 60:02d}s"


def _describe(row, speed_key, efficiency_key):
    parts = []
    if row.get("lut_equivalents") is not None:
        parts.append(f"{row['lut_equivalents']} LUTs, {row['ffs']} FFs, {row['brams']} BRAM, "
                     f"{row['dsps']} DSP")
    if row.get("fmax_mhz") is not None:
        parts.append(f"Fmax {row['fmax_mhz']:g} MHz")
    parts.append(f"{row[speed_key]:.2f} tokens/s at {row['clock_mhz']:g} MHz")
    if row.get(efficiency_key) is not None:
        parts.append(f"{row[efficiency_key]:.3g} tokens/J")
    kind = row["weight_format"] if row["pe"] == "ternary" else "int8 PE"
    return (f"  {row['rows']}x{row['cols']} {kind} W={row['port_bits']} {row['target']}: "
            + ", ".join(parts))


def summary(document, labels):
    """The lines the sweep prints: counts and wall time, the settings, each front's points,
    every point that failed or could not be built (``labels``: each point's label)."""
    rows, headline = document["points"], document["headline"]
    speed_key, efficiency_key = headline["tokens_per_s"], headline["tokens_per_j"]
    counts = {status: sum(row["status"] == status for row in rows) for status in STATUSES}
    clock = document["clock"]
    lines = [f"{len(rows)} points in {_minutes(document['wall_seconds'])}: "
             f"{document['synthesized']} synthesized now, "
             f"{sum(row['cached'] for row in rows)} from the cache; "
             + ", ".join(f"{count} {status}" for status, count in counts.items() if count),
             f"model {document['model']['path']} ({document['model']['layers']} layers); "
             f"{document['memory']['describe']}; "
             f"clock {clock if clock == 'fmax' else f'{clock:g} MHz'}; energy table "
             f"{document['energy_table']}"]
    for title, front in ((f"Pareto front, {speed_key} against LUTs:", document["pareto_area"]),
                         (f"Pareto front, {efficiency_key} against {speed_key}:",
                          document["pareto_energy"])):
        if front:
            lines.append(title)
            lines += [_describe(rows[index], speed_key, efficiency_key) for index in front]
    for row, label in zip(rows, labels):
        if row["status"] in ("failed", "timeout", "not built"):
            lines.append(f"  {row['status']}: {label}: {row['error']}"[:300])
    return lines
