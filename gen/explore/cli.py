"""``python -m gen explore``: a design-space sweep of the accelerator for a model on a memory.

    python -m gen explore [--model CONFIG_OR_CHECKPOINT] --rows 4 8 16 [--cols ...]
        [--formats i2 t5] [--ports row tile 4rows 512] [--pe ternary int8]
        [--targets ecp5] [--pnr] [--clock MHZ | --clock fmax]
        [--memory ddr4-3200 | --bandwidth GB/s | --bytes-per-cycle B] [--latency-ns NS]
        [--prompt 128] [--batch 1 8] [--energy-table NAME]
        [--no-synth] [--scheduler tcp://HOST:PORT | --workers N] [--timeout S]
        [--cache DIR] [-o DIR]

For each point (:mod:`gen.explore.space`): resources and Fmax from yosys and nextpnr
(:mod:`gen.explore.sweep`, one Dask task per point, cached by :mod:`gen.explore.cache`),
cycles per token for prefill and decode from the exact cycle model, tokens/s on the memory
(:mod:`gen.explore.memory`), energy per token; then the table (CSV and JSON), the two plots
with their Pareto fronts (:mod:`gen.explore.plots`) and a short summary on stdout. Progress
lines go to stderr. Bad arguments: one line on stderr, exit status 2, before any work.
``docs/explore.md`` has a real sweep.
"""

import argparse
import functools
import os
import sys
import threading
import time

from golden.cli import (OneLineParser, UsageError, check_output_folder, integer_range,
                        positive_number, run_cli)
from golden.synthetic import CONFIG_PATH
from rtl.config import PE_TYPES, WEIGHT_FORMATS

from .. import synth
from ..emit import emit_verilog
from . import report, sweep
from .activity import GAUSSIAN_NONZERO_FRACTION, gemm_activity
from .cache import Cache, cache_key, point_tools, reusable
from .energy import energy
from .energy_tables import TABLES
from .memory import PRESETS, MemorySystem
from .performance import phase_cycles, phase_speed, phases
from .space import expand, parse_port
from .workload import read_model


__all__ = ["PROG", "build_parser", "main"]

PROG = "python -m gen explore"

#: The figures of a synthesized point that the table carries.
_SYNTH_COLUMNS = ("luts", "lut_equivalents", "ffs", "brams", "lutram", "dsps", "fmax_mhz",
                  "synth_seconds", "pnr_seconds", "critical_path")

#: The energy table when none is given.
DEFAULT_TABLE = "horowitz-45nm"

def _port(text):
    try:
        return parse_port(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _clock(text):
    if text == "fmax":
        return text
    try:
        return positive_number(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a clock in MHz above 0 or 'fmax', "
                                         f"not {text!r}") from None


def _non_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number of at least 0, "
                                         f"not {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, not {text!r}") \
            from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, not {text!r}")
    return value


def _job_energy(table, fraction):
    """``job_energy(accel, m, k, n)``: joules of one job, :func:`gen.explore.energy.energy`
    of its :func:`~gen.explore.activity.gemm_activity` (remembered per job)."""
    @functools.lru_cache(maxsize=4096)
    def job_energy(accel, m, k, n):
        activity = gemm_activity(accel, m, k, n, nonzero_fraction=fraction)
        return energy(activity, table).total_j
    return job_energy


def build_parser():
    """The argument parser; every default and choice from where it is defined."""
    parser = OneLineParser(prog=PROG, description="Sweep accelerator configurations for a "
                           "BitNet b1.58 model on a memory system: resources, Fmax, cycles "
                           "and tokens/s per token, energy; a table, plots and Pareto fronts.")
    size = integer_range(1, 256)
    parser.add_argument("--model", default=str(CONFIG_PATH),
                        help="a HuggingFace config.json or a checkpoint folder holding one "
                             "(default: the shipped 2B-4T config, "
                             "golden/configs/bitnet-b1.58-2B-4T.json)")
    parser.add_argument("--rows", type=size, nargs="+", required=True,
                        help="array rows, 1 to 256 (one or more)")
    parser.add_argument("--cols", type=size, nargs="+", default=None,
                        help="array columns, 1 to 256 (default: square arrays, cols = rows; "
                             "given, every rows x cols combination)")
    parser.add_argument("--formats", nargs="+", choices=WEIGHT_FORMATS, default=["i2"],
                        help="weight formats of the ternary PE (default i2)")
    parser.add_argument("--ports", type=_port, nargs="+", default=["row"],
                        help="weight port rules: row (one tile row per beat), tile (the whole "
                             "tile), <k>rows (k rows per beat), or a width in bits "
                             "(default row)")
    parser.add_argument("--pe", nargs="+", choices=PE_TYPES, default=["ternary"],
                        help="PE types; int8 is the int8 x int8 baseline, format int8 "
                             "(default ternary)")
    parser.add_argument("--targets", nargs="+", choices=synth.TARGETS, default=["ecp5"],
                        help=f"synthesis targets, from {', '.join(synth.TARGETS)} "
                             f"(default ecp5)")
    parser.add_argument("--pnr", action="store_true",
                        help=f"also place and route where the target allows it "
                             f"({', '.join(synth.PNR_TARGETS)}; default devices)")
    parser.add_argument("--freq", type=positive_number, default=synth.DEFAULT_FREQ_MHZ,
                        metavar="MHZ", help="nextpnr's target frequency (default %(default)g)")
    parser.add_argument("--no-dsp", action="store_true", help="forbid DSP blocks")
    parser.add_argument("--clock", type=_clock, default=synth.DEFAULT_FREQ_MHZ,
                        help="the accelerator clock in MHz, or fmax: each point's placed "
                             "Fmax (needs --pnr) (default %(default)g)")
    memory = parser.add_mutually_exclusive_group()
    memory.add_argument("--memory", choices=sorted(PRESETS), default=None,
                        help="a named memory: "
                             + "; ".join(f"{key} = {value.describe()}"
                                         for key, value in sorted(PRESETS.items()))
                             + " (default ddr4-3200)")
    memory.add_argument("--bandwidth", type=positive_number, default=None, metavar="GB/S",
                        help="memory bandwidth in GB/s (10^9 bytes per second), above 0")
    memory.add_argument("--bytes-per-cycle", type=positive_number, default=None, metavar="B",
                        help="memory bandwidth in bytes per accelerator cycle, above 0")
    parser.add_argument("--latency-ns", type=_non_negative, default=None,
                        help="memory latency paid once per GEMM job, in ns (default: the "
                             "named memory's, or 100 with --bandwidth / --bytes-per-cycle)")
    parser.add_argument("--prompt", type=integer_range(0, 1 << 20), default=128,
                        help="prefill prompt length in tokens, 0 for none (default "
                             "%(default)s)")
    parser.add_argument("--batch", type=integer_range(1, 1 << 16), nargs="+", default=[1],
                        help="decode batch sizes; the first is the plots' and Pareto "
                             "fronts' (default 1)")
    parser.add_argument("--energy-table", choices=list(TABLES), default=DEFAULT_TABLE,
                        help="per-operation energies that price each job's activity "
                             "(docs/energy.md) (default %(default)s)")
    parser.add_argument("--nonzero-fraction", type=_fraction, default=None, metavar="F",
                        help=f"share of nonzero ternary weights, 0 to 1 (default "
                             f"{GAUSSIAN_NONZERO_FRACTION:.4f}, absmean ternarization of "
                             f"Gaussian weights)")
    parser.add_argument("--no-synth", action="store_true",
                        help="no synthesis: the cycle model, tokens/s and energy only")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="a Dask scheduler (tcp://HOST:PORT) whose workers synthesize "
                             "(default: a LocalCluster on this machine)")
    parser.add_argument("--workers", type=integer_range(1, 1024), default=None,
                        help="worker processes of the LocalCluster (default: the cores, "
                             f"{os.cpu_count()})")
    parser.add_argument("--timeout", type=positive_number, default=synth.DEFAULT_TIMEOUT_S,
                        metavar="S", help="seconds allowed to each tool run of a point "
                                          "(default %(default)g)")
    parser.add_argument("--cache", default=os.path.join("build", "explore-cache"),
                        help="folder of cached results and synthesis runs "
                             "(default %(default)s)")
    parser.add_argument("-o", "--output", default=os.path.join("build", "explore"),
                        help="output folder (default %(default)s)")
    return parser


def _memory(args):
    latency = args.latency_ns
    if args.bandwidth is not None:
        return MemorySystem(f"{args.bandwidth:g} GB/s", bytes_per_s=args.bandwidth * 1e9,
                            latency_ns=100.0 if latency is None else latency)
    if args.bytes_per_cycle is not None:
        return MemorySystem(f"{args.bytes_per_cycle:g} bytes/cycle",
                            bytes_per_cycle=args.bytes_per_cycle,
                            latency_ns=100.0 if latency is None else latency)
    preset = PRESETS[args.memory or "ddr4-3200"]
    if latency is None:
        return preset
    return MemorySystem(preset.name, bytes_per_s=preset.bytes_per_s, latency_ns=latency)


def _check(args):
    """Every refusal that needs more than one option; raises :class:`UsageError`."""
    if args.no_synth:
        for option, given in (("--pnr", args.pnr), ("--scheduler", args.scheduler),
                              ("--workers", args.workers), ("--no-dsp", args.no_dsp)):
            if given:
                raise UsageError(f"{option} needs synthesis; leave out --no-synth")
        if args.clock == "fmax":
            raise UsageError("--clock fmax needs synthesis with --pnr; leave out --no-synth")
    if args.scheduler is not None and args.workers is not None:
        raise UsageError("--workers sizes the local cluster; a --scheduler has its own "
                         "workers")
    if args.pnr and not set(args.targets) & set(synth.PNR_TARGETS):
        raise UsageError(f"--pnr needs a target that places: {', '.join(synth.PNR_TARGETS)}; "
                         f"not {', '.join(args.targets)}")
    if args.clock == "fmax" and not args.pnr:
        raise UsageError("--clock fmax needs --pnr (the placed Fmax)")
    if args.scheduler is not None and "://" not in args.scheduler:
        raise UsageError(f"--scheduler must be an address such as tcp://HOST:PORT, "
                         f"not {args.scheduler!r}")


def _flow_options(args, target):
    return {"pnr": args.pnr and target in synth.PNR_TARGETS, "device": None,
            "freq_mhz": args.freq, "dsp": not args.no_dsp}


def _row(index, point):
    config = point.config
    return {
        "index": index, "rows": point.rows, "cols": point.cols, "pe": point.pe,
        "weight_format": point.weight_format, "port": point.port,
        "port_bits": config.word_bits if config else None,
        "rows_per_beat": config.rows_per_beat if config else None,
        "target": point.target, "digest": config.digest if config else None,
        "status": "not built" if config is None else "not synthesized",
        "error": point.error, "cached": False,
    }


def _tasks(args, points, rows, cache):
    """Generate each point's Verilog, look its key up in the cache; fill the rows of cached
    points and return the tasks still to run (one per distinct key) and each row's key."""
    tasks, keys = {}, {}
    for point, row in zip(points, rows):
        if point.config is None:
            continue
        verilog = emit_verilog(point.config)
        options = _flow_options(args, point.target)
        key = cache_key(point.config, verilog, point.target, options,
                        point_tools(point.target, options["pnr"]))
        keys[row["index"]] = key
        entry = cache.get(key)
        if entry is not None and reusable(entry, args.timeout):
            row["cached"] = True
            continue
        if key not in tasks:
            tasks[key] = {"key": key, "label": point.label, "config": point.config,
                          "target": point.target, "options": options,
                          "timeout": args.timeout, "verilog": verilog,
                          "folder": os.path.abspath(os.path.join(args.cache, "runs",
                                                                 key[:16]))}
    return list(tasks.values()), keys


def _fill_synthesis(row, entry):
    row["status"] = entry["status"]
    if entry["status"] != "ok":
        row["error"] = entry["error"]
        return
    for column in _SYNTH_COLUMNS:
        row[column] = entry.get(column)


def _cycles(point, model, phase_list, job_energy):
    """The clock-free figures of each phase (:class:`~gen.explore.performance.PhaseCycles`)."""
    return {label: phase_cycles(model, point.config, m, job_energy)
            for label, m in phase_list}


def _fill_performance(row, figures, memory, clock):
    """Cycle-model figures (always) and tokens/s, energy (when the point has a clock)."""
    clock_mhz = row.get("fmax_mhz") if clock == "fmax" else clock
    row["clock_mhz"] = clock_mhz
    for label, phase in figures.items():
        row[f"{label}_cycles_per_token"] = round(phase.cycles_per_token, 2)
        row[f"{label}_bytes_per_token"] = round(phase.bytes_per_token)
        if phase.j_per_token is not None:
            row[f"{label}_j_per_token"] = phase.j_per_token
            row[f"{label}_tokens_per_j"] = 1 / phase.j_per_token
        if clock_mhz is None:
            continue
        speed = phase_speed(phase, memory, clock_mhz * 1e6)
        row[f"{label}_tokens_per_s"] = speed["tokens_per_s"]
        row[f"{label}_memory_bound"] = speed["memory_bound"]


def _run(argv):
    began = time.perf_counter()
    args = build_parser().parse_args(argv)
    _check(args)
    try:
        model = read_model(args.model)
    except ValueError as error:
        raise UsageError(f"--model: {error}") from None
    memory = _memory(args)
    check_output_folder(args.output)
    if not args.no_synth:
        check_output_folder(args.cache, "cache folder")
    job_energy = _job_energy(args.energy_table, args.nonzero_fraction)
    shapes = [(r, c) for r in args.rows for c in (args.cols or [r])] if args.cols else \
        [(r, r) for r in args.rows]
    points = expand(shapes, args.pe, args.formats, args.ports, args.targets)
    if all(point.config is None for point in points):
        raise UsageError(f"no point of the sweep can be built: {points[0].label}: "
                         f"{points[0].error}" + (f" (and {len(points) - 1} more)"
                                                 if len(points) > 1 else ""))
    phase_list = phases(args.prompt, args.batch)
    client = None
    if args.scheduler is not None:
        try:
            client = sweep.open_client(args.scheduler)
        except ConnectionError as error:
            raise UsageError(str(error)) from None

    rows = [_row(index, point) for index, point in enumerate(points)]
    computed, futures, figures = 0, {}, {}
    if not args.no_synth:
        cache = Cache(args.cache)
        tasks, keys = _tasks(args, points, rows, cache)
        print(f"explore: {len(points)} points, {len(tasks)} to synthesize, "
              f"{sum(row['cached'] for row in rows)} from the cache, "
              f"{sum(point.config is None for point in points)} not buildable",
              file=sys.stderr, flush=True)
        if tasks and client is None:
            client = sweep.open_client(workers=args.workers)
        futures = sweep.submit(client, tasks) if tasks else {}
        progress = sweep.Progress(len(futures))
    failures = []

    def cycle_model():
        try:
            for point, row in zip(points, rows):
                if point.config is not None:
                    figures[row["index"]] = _cycles(point, model, phase_list, job_energy)
        except BaseException as error:          # re-raised below, in this thread
            failures.append(error)

    try:
        # The cycle model runs in a thread of this process while the workers synthesize and
        # this thread reports their results as they arrive.
        thread = threading.Thread(target=cycle_model, name="explore-cycle-model")
        thread.start()
        if futures:
            sweep.collect(futures, cache, progress)
            computed = len(futures)
        thread.join()
        if failures:
            raise failures[0]
    finally:
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    if not args.no_synth:
        for row in rows:
            if row["index"] in keys:
                _fill_synthesis(row, cache.get(keys[row["index"]]))
    for row in rows:
        if row["index"] in figures:
            _fill_performance(row, figures[row["index"]], memory, args.clock)

    head = phase_list[len(phase_list) - len(args.batch)][0]
    speed_key, efficiency_key = f"{head}_tokens_per_s", f"{head}_tokens_per_j"
    area, efficient = report.mark_fronts(rows, speed_key, efficiency_key,
                                         synthesized=not args.no_synth)
    document = {
        "command": " ".join([PROG, *argv]),
        "model": {"path": args.model, "layers": model.num_hidden_layers,
                  "hidden_size": model.hidden_size,
                  "intermediate_size": model.intermediate_size},
        "memory": {"name": memory.name, "bytes_per_s": memory.bytes_per_s,
                   "bytes_per_cycle": memory.bytes_per_cycle,
                   "latency_ns": memory.latency_ns, "describe": memory.describe()},
        "clock": args.clock, "phases": dict(phase_list), "energy_table": args.energy_table,
        "nonzero_fraction": (GAUSSIAN_NONZERO_FRACTION if args.nonzero_fraction is None
                             else args.nonzero_fraction),
        "headline": {"phase": head, "tokens_per_s": speed_key, "tokens_per_j": efficiency_key},
        "synthesized": computed, "wall_seconds": round(time.perf_counter() - began, 1),
        "pareto_area": area, "pareto_energy": efficient, "points": rows,
    }
    written = report.write(args.output, document)
    for line in report.summary(document, [point.label for point in points]):
        print(line)
    print("wrote " + ", ".join(written))
    return 0


def main(argv=None):
    """Run the sweep; returns the exit status (2 for bad arguments)."""
    return run_cli(PROG, _run, argv)
