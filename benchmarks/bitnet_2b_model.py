"""The whole 30-layer BitNet b1.58 2B-4T-shaped model on a simulated array: a prefill pass and a
decode pass with every BitLinear projection on the co-simulated hardware, the logits checked
bit-identical to golden's.

    python benchmarks/bitnet_2b_model.py [--checkpoint DIR] [--layers 30] [--seed 0]
                                         [--rows 64] [--cols 64] [--weight-format t5]
                                         [--weight-port-bits 1024] [--prompt 4]
                                         [--new-tokens 2] [--report run.json]

Without ``--checkpoint`` the script writes :mod:`golden.synthetic`'s random checkpoint (the
exact 2B-4T ``config.json``, ``--layers`` of its 30 layers, seed ``--seed``; 1.84 GB) into a
temporary folder, removed at the end; with it, that folder is used (``--layers`` and
``--seed`` then only choose nothing). The prompt is ``--prompt`` seeded random token ids.

Steps, each timed: golden loads the checkpoint (:func:`golden.load_checkpoint`) and generates
``--new-tokens`` greedy tokens with the KV cache (:meth:`golden.BitNetModel.generate_with_logits`):
the reference ids and logits; the model is then dropped, and
:func:`cosim.transformer.run_transformer` (the path of ``python -m cosim.transformer``) runs
the same generation with every projection on the simulated ``--rows`` x ``--cols`` array
(``--weight-format``, a weight port of ``--weight-port-bits``), checking each GEMM against
:func:`golden.int_gemm` as it goes. Then the script checks: the ids equal and the logits
bit-identical (compared as their float32 bit patterns) to golden's; every GEMM's cycles equal
to the cycle model; each phase's cycles equal to :meth:`AccelConfig.cycles` summed over the
projections of :func:`golden.config.param_shapes` (``M`` = the prompt length for the prefill,
1 for a decode pass), an expectation computed from the configuration alone. Any difference
stops the script with an :class:`AssertionError`.

Printed: per phase the GEMMs, the simulated cycles, the cycle model's, the wall time inside
the simulation and the simulated cycles/s; then the wall times (golden's load and forward
pass, and of the co-simulation: the build, its own checkpoint loads, the simulator session,
the time in the simulator and in golden's host code between GEMMs), the peak resident
memory of this process, and that of this process and the simulator together, sampled every
second during the co-simulation. The transformer loads the
checkpoint twice, once in this process (checks before the run) and once in the simulator
process, so the co-simulation's memory is two copies of the model, one per process.

:func:`run_model` is the benchmark for any checkpoint and array
(``tests/test_bitnet_2b_model_benchmark.py`` runs it on a 2-layer model of tiny widths).
Not run in CI.
"""

import gc
import json
import os
import pathlib
import resource
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import golden  # noqa: E402
from cosim.report import model_cycles  # noqa: E402
from cosim.transformer import run_transformer  # noqa: E402
from golden.cli import (OneLineParser, UsageError, integer, integer_range,  # noqa: E402
                        field_usage_error, run_cli)
from golden.config import param_shapes  # noqa: E402
from golden.synthetic import BITNET_2B_4T_CONFIG, write_checkpoint  # noqa: E402
from rtl.config import AccelConfig, ConfigError  # noqa: E402

__all__ = ["model_config", "phase_cycles", "run_model", "main"]

PROG = "python benchmarks/bitnet_2b_model.py"


def model_config(layers=30):
    """The 2B-4T :class:`golden.BitNetConfig` with its first ``layers`` layers."""
    return golden.BitNetConfig.from_dict({**BITNET_2B_4T_CONFIG, "num_hidden_layers": layers})


def phase_cycles(accel, config, m):
    """Cycles of one forward pass of ``m`` rows by the cycle model: ``accel.cycles`` (jobs of
    ``max_m`` rows) summed over every projection shape ``[N, K]`` of ``config``."""
    return sum(model_cycles(accel, m, shape[1], shape[0])
               for shape, kind in param_shapes(config).values() if kind == "ternary")


def _peak_gb():
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def _tree_rss(pid):
    """Resident bytes of ``pid`` and its descendants, from ``/proc`` (0 where unreadable)."""
    total, pids = 0, [pid]
    while pids:
        pid = pids.pop()
        try:
            status = pathlib.Path(f"/proc/{pid}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) * 1024
            for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
                pids += [int(p) for p in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


class _TreeMemory(threading.Thread):
    """Samples the resident memory of this process and its children (the simulator) every
    ``period`` seconds until stopped; ``peak`` is the largest sum seen, in bytes. The
    children's own ``ru_maxrss`` cannot serve: a child started by fork and exec inherits the
    parent's peak."""

    def __init__(self, period=1.0):
        super().__init__(daemon=True)
        self.period, self.peak, self._halt = period, 0, threading.Event()

    def run(self):
        while not self._halt.is_set():
            self.peak = max(self.peak, _tree_rss(os.getpid()))
            self._halt.wait(self.period)

    def stop(self):
        self._halt.set()
        self.join()


def run_model(checkpoint, prompt_ids, new_tokens, *, out=print, progress=False,
              **accel_fields):
    """The benchmark on ``checkpoint`` (a folder) for ``prompt_ids`` and ``new_tokens``
    greedy tokens on the array ``accel_fields`` (``rows``, ``cols``, ``weight_format``,
    ``weight_port_bits``). Prints the table to ``out`` and returns a dict: ``cycles``
    (``{"prefill", "decode"}``), ``model_cycles`` (the same from the configuration),
    ``per_decode_token``, ``gemms``, ``cycles_per_second``, the wall times ``load_s``,
    ``golden_s``, ``cosim_s``, ``peak_bytes`` (this process and the simulator together, sampled)
    and the transformer's ``report``.

    Raises
    ------
    AssertionError
        The ids or logits differ from golden's, or cycles from the cycle model.
    """
    accel = AccelConfig(**{k: v for k, v in accel_fields.items() if v is not None})
    prompt = [int(i) for i in prompt_ids]
    began = time.perf_counter()
    model = golden.load_checkpoint(checkpoint)
    loaded = time.perf_counter()
    ids, logits = model.generate_with_logits(prompt, new_tokens)
    forwarded = time.perf_counter()
    config = model.config
    del model
    gc.collect()

    sampler = _TreeMemory()
    sampler.start()
    try:
        run = run_transformer(checkpoint, prompt, new_tokens, progress=progress,
                              **accel_fields)
    finally:
        sampler.stop()
    ended = time.perf_counter()
    assert np.array_equal(run.new_ids, ids), \
        f"the array chose {run.new_ids.tolist()}, golden {ids.tolist()}"
    assert run.logits.dtype == logits.dtype == np.float32 and \
        np.array_equal(run.logits.view(np.uint32), logits.view(np.uint32)), \
        "the array's logits differ from golden's"
    report = run.report
    assert report["cycle_model_agrees"], \
        f"cycles differ from the cycle model: {report['cycle_model_mismatches']}"
    cycles = {"prefill": report["cycles"]["prefill"], "decode": report["cycles"]["decode"]}
    passes = report["tokens"]["decode_steps"]
    expected = {"prefill": phase_cycles(accel, config, len(prompt)),
                "decode": passes * phase_cycles(accel, config, 1)}
    assert cycles == expected, f"cycles {cycles}, the cycle model says {expected}"

    w = report["wall_seconds"]
    by_phase = {phase: [r for r in run.records if r["phase"] == phase] for phase in cycles}
    out(f"{config.num_hidden_layers}-layer model (hidden {config.hidden_size}, vocabulary "
        f"{config.vocab_size}) on a {accel.rows}x{accel.cols} {accel.format.name} array, "
        f"weight port {accel.word_bits} bits ({accel.rows_per_beat} tile rows per beat): "
        f"prompt of {len(prompt)} tokens, {new_tokens} new tokens")
    out(f"{'phase':<8} {'GEMMs':>5} {'cycles':>10} {'model':>10} {'sim s':>8} "
        f"{'cycles/s':>8}")
    for phase, rows in by_phase.items():
        seconds = sum(r["seconds"] for r in rows)
        rate = cycles[phase] / seconds if seconds else 0.0
        out(f"{phase:<8} {len(rows):>5} {cycles[phase]:>10} {expected[phase]:>10} "
            f"{seconds:>8.1f} {rate:>8.0f}")
    total = sum(cycles.values())
    out(f"{'total':<8} {len(run.records):>5} {total:>10} {sum(expected.values()):>10} "
        f"{w['in_simulation']:>8.1f} {report['simulated_cycles_per_second']:>8.0f}")
    per_token = report["cycles"]["per_decode_token"]
    out(f"ids {run.new_ids.tolist()} and logits [{len(run.logits)} x {config.vocab_size}] "
        f"bit-identical to golden's; every GEMM bit-exact and equal to the cycle model"
        + (f"; {per_token:.0f} cycles per decode token" if per_token else ""))
    outer = w["total"] - w["build"] - w["simulator_session"]
    out(f"wall time: golden load {loaded - began:.1f} s, golden forward "
        f"{forwarded - loaded:.1f} s; co-simulation {ended - forwarded:.1f} s = build "
        f"{w['build']:.1f} s + load and checks in this process {outer:.1f} s + simulator "
        f"session {w['simulator_session']:.1f} s (start and load in the simulator "
        f"{w['simulator_session'] - w['model_run']:.1f} s, simulation {w['in_simulation']:.1f} "
        f"s, golden between GEMMs {w['in_host_python']:.1f} s); total {ended - began:.1f} s")
    out(f"peak resident memory: this process {_peak_gb():.2f} GB; during the co-simulation, "
        f"this process and the simulator together {sampler.peak / 1e9:.2f} GB (sampled "
        f"every second)")
    return {"cycles": cycles, "model_cycles": expected, "per_decode_token": per_token,
            "gemms": len(run.records),
            "cycles_per_second": report["simulated_cycles_per_second"],
            "load_s": loaded - began, "golden_s": forwarded - loaded,
            "cosim_s": ended - forwarded, "peak_bytes": sampler.peak, "report": report}


def main(argv=None):
    """The command line; returns the exit status (2 with one line on stderr for bad input)."""
    return run_cli(PROG, _run, argv)


def _run(argv):
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, metavar="DIR",
                        help="an existing checkpoint folder (default: write golden.synthetic's "
                             "into a temporary folder)")
    parser.add_argument("--layers", type=integer_range(1, 30), default=30,
                        help="layers of the written checkpoint (default 30)")
    parser.add_argument("--seed", type=integer_range(0, 2**63 - 1), default=0,
                        help="seed of the written checkpoint and of the prompt (default 0)")
    parser.add_argument("--rows", type=integer, default=64)
    parser.add_argument("--cols", type=integer, default=64)
    parser.add_argument("--weight-format", choices=["i2", "t5"], default="t5")
    parser.add_argument("--weight-port-bits", type=integer, default=1024,
                        help="bits of a weight beat (default 1024)")
    parser.add_argument("--prompt", type=integer_range(1, 64), default=4,
                        help="prompt tokens, seeded random ids (default 4)")
    parser.add_argument("--new-tokens", type=integer_range(1, 16), default=2,
                        help="new tokens: one prefill pass, then one decode pass per token "
                             "after the first (default 2)")
    args = parser.parse_args(argv)
    fields = dict(rows=args.rows, cols=args.cols, weight_format=args.weight_format,
                  weight_port_bits=args.weight_port_bits)
    try:
        AccelConfig(**fields)
    except ConfigError as error:
        raise field_usage_error(error) from None
    if args.checkpoint is not None and not pathlib.Path(args.checkpoint, "config.json").is_file():
        raise UsageError(f"--checkpoint {args.checkpoint!r}: no config.json in that folder")

    def bench(folder):
        vocab = json.loads(pathlib.Path(folder, "config.json").read_text())["vocab_size"]
        prompt = np.random.default_rng(args.seed).integers(0, vocab, args.prompt)
        run_model(folder, prompt, args.new_tokens, progress=True, **fields)

    if args.checkpoint is not None:
        bench(args.checkpoint)
        return
    with tempfile.TemporaryDirectory(prefix="bitnet-2b-") as temporary:
        folder = pathlib.Path(temporary, "checkpoint")
        began = time.perf_counter()
        write_checkpoint(folder, model_config(args.layers), seed=args.seed)
        print(f"wrote the checkpoint in {time.perf_counter() - began:.1f} s", flush=True)
        bench(folder)


if __name__ == "__main__":
    sys.exit(main())
