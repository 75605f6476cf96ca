"""The full BitNet transformer with every BitLinear projection on the simulated accelerator.

    python -m cosim.transformer --checkpoint models/sort-digits [--rows 16 --cols 16] \
        --prompt "531962=" [--prompt "907134=" ...] --max-new-tokens 7 \
        [--weight-port-bits W] [--dump-logits logits.npy] [--report run.json]

The same job, with the same options, as ``python -m golden.generate`` (defined once in
:mod:`golden.generation_cli`), plus the accelerator's (``--rows``, ``--cols``,
``--weight-format``, ``--weight-port-bits``, ``--clock-mhz``) and ``--report``. Several
prompts are decoded as one batch: golden's batched generation loop
(:meth:`golden.BitNetModel.generate_batch_with_logits`) runs unchanged, so the prefill is one
GEMM per projection over all prompts stacked and every decode pass one GEMM per projection with
``M`` = the live sequences; its GEMM backend is the generated RTL in Verilator driven by cocotb
(see ``cosim/_transformer_job.py``). Standard output carries only the answers (one per prompt,
in order); the build notice, the progress lines and the report go to standard error.
:func:`run_transformer` and :func:`run_transformer_batch` are the same run from Python.
"""

import dataclasses
import json
import os
import sys
import time

import numpy as np

import golden
from golden.cli import OneLineParser, UsageError, field_usage_error, integer, integer_range, \
    positive_number, run_cli
from golden.generation_cli import Outputs, add_generation_options, answer_text, prepare, \
    save_logits
from rtl.config import MAX_ARRAY_DIM, WEIGHT_FORMATS, AccelConfig, ConfigError
from rtl.interface import INTERFACES

from .report import build_report, format_report, plot_report


__all__ = ["TransformerRun", "TransformerBatchRun", "run_transformer", "run_transformer_batch",
           "accelerator_config", "batch_figures", "picture_path", "main"]

PROG = "python -m cosim.transformer"
DEFAULT_ROWS = DEFAULT_COLS = 16
DEFAULT_CLOCK_MHZ = 200.0


@dataclasses.dataclass(frozen=True)
class TransformerRun:
    """Outcome of :func:`run_transformer`.

    Attributes
    ----------
    new_ids : ndarray of int64 ``[steps]``
    logits : ndarray of float32 ``[steps, vocab]``, the logits that chose each new token
    report : dict (see :mod:`cosim.report`)
    records : list of dict, one per GEMM
    """
    new_ids: np.ndarray
    logits: np.ndarray
    report: dict
    records: list


@dataclasses.dataclass(frozen=True)
class TransformerBatchRun:
    """Outcome of :func:`run_transformer_batch`: one batch decoded together.

    Attributes
    ----------
    new_ids : list of ndarray of int64 ``[steps_i]``, one per prompt, in order
    logits : list of ndarray of float32 ``[steps_i, vocab]``, one per prompt
    report : dict (see :mod:`cosim.report`) of the whole batch: the GEMMs serve every sequence
        at once, so cycles are the batch's; ``tokens`` sums over the prompts, and ``batch``
        (:func:`batch_figures`) gives the per-sequence and total decode rates
    records : list of dict, one per GEMM (``m`` = rows of all sequences in the pass)
    """
    new_ids: list
    logits: list
    report: dict
    records: list


def run_transformer(checkpoint, prompt_ids, max_new_tokens, **options):
    """Generation with every projection on a ``rows`` x ``cols`` accelerator.

    Takes the arguments of :func:`run_transformer_batch` with one prompt and returns one
    :class:`TransformerRun`.
    """
    batch = run_transformer_batch(checkpoint, [prompt_ids], max_new_tokens, **options)
    return TransformerRun(new_ids=batch.new_ids[0], logits=batch.logits[0],
                          report=batch.report, records=batch.records)


def accelerator_config(rows=DEFAULT_ROWS, cols=DEFAULT_COLS, weight_format="i2",
                       weight_port_bits=None, **config):
    """The :class:`rtl.config.AccelConfig` of a run; ``weight_port_bits`` None keeps the
    default port (one array row per beat) and is not passed on. Raises ``ConfigError``."""
    if weight_port_bits is not None:
        config["weight_port_bits"] = weight_port_bits
    return AccelConfig(rows=rows, cols=cols, weight_format=weight_format, **config)


def run_transformer_batch(checkpoint, prompts, max_new_tokens, *, rows=DEFAULT_ROWS,
                          cols=DEFAULT_COLS, weight_format="i2", weight_port_bits=None,
                          clock_mhz=DEFAULT_CLOCK_MHZ, temperature=0.0, top_k=None, seed=None,
                          stop_at_eos=False, progress=False, **config):
    """A batch of prompts decoded together with every projection on the simulated array.

    One simulator session (one build, one start); golden's batched loop
    (:meth:`golden.BitNetModel.steps_batch`): the prefill is one GEMM per projection over all
    prompts stacked, each decode pass one GEMM per projection whose ``M`` is the number of live
    sequences, so the array loads each weight tile once per pass for the whole batch.
    Returns a :class:`TransformerBatchRun`. Every sequence's tokens and logits equal golden's
    for its prompt alone, bit for bit.

    ``temperature``, ``top_k``, ``seed`` (None, an int for every prompt, or one int per
    prompt) and ``stop_at_eos`` are those of :meth:`golden.BitNetModel.steps_batch` (default
    greedy). ``weight_port_bits`` is the :class:`rtl.config.AccelConfig` field (None: the
    default port, one array row per beat); any other ``AccelConfig`` field may be given as a
    keyword. ``progress`` True prints the build notice and a line per layer and forward pass on
    stderr.

    Raises ``ValueError`` or ``TypeError`` before any build or simulation: bad sizes or options
    (``rtl.config.ConfigError``), ``"prompts must hold at least one prompt"``, a prompt beyond
    the model's context (``"prompts[1]: 60 prompt tokens + 7 new tokens exceed
    max_position_embeddings=64"``), prompt ids outside the vocabulary, a bad checkpoint
    (``golden.CheckpointError``), ``"a projection has K=..., beyond max_k=..."``; and
    ``RuntimeError`` if the build or the simulation fails (a hardware result that differs from
    golden is reported with its layer, projection, tile and element).
    """
    from .design_cache import cached_simulator
    from .harness import BUILD_ARGS as HARNESS_ARGS
    from .harness import harness_design
    from .runner import SimulatorJob

    began = time.perf_counter()
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) \
            or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive integer, not {max_new_tokens!r}")
    if isinstance(clock_mhz, bool) or not isinstance(clock_mhz, (int, float)) \
            or not (np.isfinite(clock_mhz) and clock_mhz > 0):
        raise ValueError(f"clock_mhz must be a positive finite number, not {clock_mhz!r}")
    cfg = accelerator_config(rows, cols, weight_format, weight_port_bits, **config)
    model = golden.load_checkpoint(checkpoint)
    # golden's loop checks every argument (the empty batch, each prompt against the context,
    # the seeds) when it is called, and runs nothing
    model.steps_batch(prompts, max_new_tokens, temperature=temperature, top_k=top_k, seed=seed,
                      stop_at_eos=stop_at_eos)
    checked = [[int(i) for i in np.asarray(prompt).reshape(-1)] for prompt in prompts]
    seed = [int(s) for s in seed] if isinstance(seed, (list, tuple, np.ndarray)) else seed
    widest = max(w.shape[1] for w, _ in model.projections().values())
    if widest > cfg.max_k:
        raise ValueError(f"a projection has K={widest}, beyond max_k={cfg.max_k}")

    title = f"{cfg.rows}x{cfg.cols} {cfg.format.name} accelerator"
    if cfg.interface == "axi":
        from .axi_bench import axi_bench_design
        build = cached_simulator("axi", cfg, axi_bench_design,
                                 notify=sys.stderr if progress else None,
                                 title=f"{title}, memory-mapped")
    else:
        build = cached_simulator("harness", cfg, harness_design, extra_args=HARNESS_ARGS,
                                 notify=sys.stderr if progress else None, title=title)
    run_began = time.perf_counter()
    with SimulatorJob(build, "transformer") as job:
        job.path("job.json").write_text(json.dumps({
            "checkpoint": os.path.abspath(checkpoint), "prompts": checked,
            "max_new_tokens": max_new_tokens, "temperature": float(temperature),
            "top_k": top_k, "seed": seed, "stop_at_eos": bool(stop_at_eos),
            "progress": bool(progress)}))
        job.run("cosim._transformer_job", config=cfg.as_dict(), job_file="job.json",
                show_progress=progress)
        outcome = json.loads(job.path("result.json").read_text())
        logits = [np.load(job.path(f"logits-{i}.npy")) for i in range(len(checked))]
    ended = time.perf_counter()
    seconds = {"total": ended - began, "build": build.seconds,
               "simulator_session": ended - run_began}
    described = {"name": os.path.basename(os.path.normpath(os.fspath(checkpoint))),
                 "layers": model.config.num_hidden_layers}
    new_ids = [np.asarray(ids, dtype=np.int64) for ids in outcome["new_ids"]]
    report = build_report(cfg, outcome["records"], prompt_tokens=sum(map(len, checked)),
                          new_tokens=sum(map(len, new_ids)), seconds=seconds,
                          model_seconds=outcome["seconds"], clock_mhz=clock_mhz,
                          model=described)
    report["batch"] = batch_figures(outcome["records"], [len(p) for p in checked],
                                    [len(ids) for ids in new_ids], clock_mhz)
    return TransformerBatchRun(new_ids=new_ids, logits=logits, report=report,
                               records=outcome["records"])


def batch_figures(records, prompt_tokens, new_tokens, clock_mhz):
    """The batch part of a report: ``sequences``, the ``prompt_tokens`` and ``new_tokens`` of
    each, the array ``decode_cycles`` and ``decode_passes``, and the projected decode rates at
    ``clock_mhz``: ``tokens_per_second_per_sequence`` (one token per live sequence per pass:
    clock / cycles per pass) and ``tokens_per_second_total`` (clock x tokens chosen by decode
    passes / decode cycles); None without a decode pass. Array cycles only, as the report."""
    decode = [r for r in records if r["phase"] == "decode"]
    cycles = sum(r["cycles"] for r in decode)
    passes = len({r["step"] for r in decode})
    chosen = sum(max(n - 1, 0) for n in new_tokens)
    clock = clock_mhz * 1e6
    return {"sequences": len(prompt_tokens), "prompt_tokens": list(prompt_tokens),
            "new_tokens": list(new_tokens), "decode_cycles": cycles, "decode_passes": passes,
            "tokens_per_second_per_sequence": clock * passes / cycles if cycles else None,
            "tokens_per_second_total": clock * chosen / cycles if cycles else None}


def picture_path(report_path):
    """The report picture's path: the report's with the extension ``.png`` (``run.json`` ->
    ``run.png``). Raises :class:`golden.cli.UsageError` when that is the report itself."""
    picture = os.path.splitext(report_path)[0] + ".png"
    if os.path.normcase(os.path.abspath(picture)) == \
            os.path.normcase(os.path.abspath(report_path)):
        raise UsageError(f"--report {report_path!r}: the report's picture would overwrite it "
                         f"(it is written beside the report with the extension .png); give "
                         f"the report another extension, such as .json")
    return picture


def _parser():
    parser = OneLineParser(prog=PROG, description="Continue one prompt, or several decoded "
                           "as one batch, with every BitLinear projection of a BitNet b1.58 "
                           "checkpoint executed on the simulated accelerator (the tokens and "
                           "logits equal python -m golden.generate's bit for bit).")
    add_generation_options(parser)
    array = parser.add_argument_group("the accelerator")
    array.add_argument("--rows", type=integer_range(1, MAX_ARRAY_DIM), default=DEFAULT_ROWS,
                       metavar="R", help=f"array rows, the K extent of a weight tile, 1 to "
                                         f"{MAX_ARRAY_DIM} (default %(default)s)")
    array.add_argument("--cols", type=integer_range(1, MAX_ARRAY_DIM), default=DEFAULT_COLS,
                       metavar="C", help=f"array columns, the N extent of a weight tile, 1 to "
                                         f"{MAX_ARRAY_DIM} (default %(default)s)")
    array.add_argument("--weight-format", choices=WEIGHT_FORMATS, default="i2",
                       help="packed weights: i2 = 2 bits per weight, t5 = five weights per "
                            "byte (default %(default)s)")
    array.add_argument("--weight-port-bits", type=integer, default=None, metavar="W",
                       help="bits of weights the array takes per cycle: a positive multiple "
                            "of what the weight format needs, at most a whole tile (default: "
                            "one array row per beat)")
    array.add_argument("--interface", choices=INTERFACES, default="stream",
                       help="top level: stream, or axi (every GEMM through memory and the "
                            "registers of the memory-mapped top, a memory of 100 cycles of "
                            "latency) (default %(default)s)")
    array.add_argument("--clock-mhz", type=positive_number, default=DEFAULT_CLOCK_MHZ,
                       metavar="MHZ", help="clock of the projected tokens/s, a positive "
                                           "finite number (default %(default)s)")
    array.add_argument("--report", metavar="PATH",
                       help="write the report as JSON to PATH and its picture beside it "
                            "(PATH with the extension .png) (default: not written)")
    return parser


def _config(args):
    """The accelerator of the arguments, checked before any work; a refused field is reported
    under its option's name (``--weight-port-bits must be ...``)."""
    try:
        return accelerator_config(args.rows, args.cols, args.weight_format,
                                  args.weight_port_bits, interface=args.interface)
    except ConfigError as error:
        raise field_usage_error(error) from None


def _run(argv):
    args = _parser().parse_args(argv)
    _config(args)
    outputs = []
    if args.report is not None:
        outputs = [(args.report, "--report"), (picture_path(args.report), "--report picture")]
    job = prepare(args, outputs)
    try:
        run = run_transformer_batch(
            args.checkpoint, job.prompts, args.max_new_tokens, rows=args.rows, cols=args.cols,
            weight_format=args.weight_format, weight_port_bits=args.weight_port_bits,
            interface=args.interface, clock_mhz=args.clock_mhz, temperature=args.temperature, top_k=args.top_k,
            seed=args.seed, stop_at_eos=args.stop_at_eos, progress=True)
    except ValueError as error:       # a limit of the accelerator (max_k) or of the model
        raise UsageError(str(error)) from None
    except RuntimeError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    sys.stdout.write("".join(answer_text(job.model, ids) for ids in run.new_ids))
    sys.stdout.flush()
    print(format_report(run.report), file=sys.stderr)
    batch = run.report["batch"]
    if batch["sequences"] > 1 and batch["tokens_per_second_total"]:
        print(f"batch of {batch['sequences']} sequences at {args.clock_mhz:g} MHz: "
              f"{batch['tokens_per_second_per_sequence']:.0f} decode tokens/s per sequence, "
              f"{batch['tokens_per_second_total']:.0f} in total", file=sys.stderr)
    files = Outputs(PROG)
    if args.dump_logits:
        files.write("--dump-logits", args.dump_logits,
                    lambda path: save_logits(path, run.logits))
    if args.report:
        files.write("--report", args.report, lambda path: _write_json(path, run.report))
        files.write("--report picture", picture_path(args.report),
                    lambda path: plot_report(run.report, path))
    return files.status


def _write_json(path, report):
    with open(path, "w") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")


def main(argv=None):
    """Run the command line; returns the exit status (0; 2 for a user error, before any work;
    1 when the build or simulation fails or a result file could not be written)."""
    return run_cli(PROG, _run, argv)


if __name__ == "__main__":
    sys.exit(main())
