"""The full BitNet transformer with every BitLinear projection on the simulated accelerator.

    python -m cosim.transformer --checkpoint models/sort-digits [--rows 16 --cols 16] \
        --prompt "531962=" --max-new-tokens 7 [--dump-logits logits.npy] [--report run.json]

The same job, with the same options, as ``python -m golden.generate`` (defined once in
:mod:`golden.generation_cli`), plus the accelerator's (``--rows``, ``--cols``,
``--weight-format``, ``--clock-mhz``) and ``--report``. Golden's generation loop runs
unchanged; its GEMM backend is the generated RTL in Verilator driven by cocotb (see
``cosim/_transformer_job.py``). Standard output carries only the answer; the build notice,
the progress lines and the report go to standard error. :func:`run_transformer` is the same
run from Python.
"""

import dataclasses
import json
import os
import sys
import time

import numpy as np

import golden
from golden.cli import OneLineParser, UsageError, integer_range, positive_number, run_cli
from golden.generation_cli import Outputs, add_generation_options, answer_text, prepare, \
    save_array
from rtl.config import MAX_ARRAY_DIM, WEIGHT_FORMATS, AccelConfig

from .report import build_report, format_report, plot_report


__all__ = ["TransformerRun", "run_transformer", "run_transformer_batch", "picture_path", "main"]

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


def run_transformer(checkpoint, prompt_ids, max_new_tokens, **options):
    """Generation with every projection on a ``rows`` x ``cols`` accelerator.

    Takes the arguments of :func:`run_transformer_batch` with one prompt and returns one
    :class:`TransformerRun`.
    """
    return run_transformer_batch(checkpoint, [prompt_ids], max_new_tokens, **options)[0]


def run_transformer_batch(checkpoint, prompts, max_new_tokens, *, rows=DEFAULT_ROWS,
                          cols=DEFAULT_COLS, weight_format="i2", clock_mhz=DEFAULT_CLOCK_MHZ,
                          temperature=0.0, top_k=None, seed=None, stop_at_eos=False,
                          progress=False, **config):
    """Several prompts in one simulator session (one build, one simulator start): a list of
    :class:`TransformerRun`, one per prompt, each with its own report.

    ``temperature``, ``top_k``, ``seed`` and ``stop_at_eos`` are those of
    :meth:`golden.BitNetModel.generate` (default greedy); the tokens and logits equal golden's
    bit for bit. Any other :class:`rtl.config.AccelConfig` field may be given as a keyword.
    ``progress`` True prints the build notice and a line per layer and forward pass on stderr.

    Raises ``ValueError`` or ``TypeError`` (bad sizes or options, prompt ids outside the
    vocabulary, a bad checkpoint via ``golden.CheckpointError``) before any build or
    simulation, and ``RuntimeError`` if the build or the simulation fails (a hardware result
    that differs from golden is reported with its layer, projection, tile and element).
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
    cfg = AccelConfig(rows=rows, cols=cols, weight_format=weight_format, **config)
    model = golden.load_checkpoint(checkpoint)
    if not prompts:
        raise ValueError("at least one prompt is needed")
    checked = []
    for prompt in prompts:
        # golden's loop checks every argument when it is called, and runs nothing
        model.steps(prompt, max_new_tokens, temperature=temperature, top_k=top_k, seed=seed,
                    stop_at_eos=stop_at_eos)
        checked.append([int(i) for i in np.asarray(prompt).reshape(-1)])
    widest = max(w.shape[1] for w, _ in model.projections().values())
    if widest > cfg.max_k:
        raise ValueError(f"a projection has K={widest}, beyond max_k={cfg.max_k}")

    build = cached_simulator("harness", cfg, harness_design, extra_args=HARNESS_ARGS,
                             notify=sys.stderr if progress else None,
                             title=f"{cfg.rows}x{cfg.cols} {cfg.format.name} accelerator")
    run_began = time.perf_counter()
    with SimulatorJob(build, "transformer") as job:
        job.path("job.json").write_text(json.dumps({
            "checkpoint": os.path.abspath(checkpoint), "prompts": checked,
            "max_new_tokens": max_new_tokens, "temperature": float(temperature),
            "top_k": top_k, "seed": seed, "stop_at_eos": bool(stop_at_eos),
            "progress": bool(progress)}))
        job.run("cosim._transformer_job", config=cfg.as_dict(), job_file="job.json",
                show_progress=progress)
        outcomes = json.loads(job.path("result.json").read_text())
        logits = [np.load(job.path(f"logits-{i}.npy")) for i in range(len(outcomes))]
    ended = time.perf_counter()
    seconds = {"total": ended - began, "build": build.seconds,
               "simulator_session": ended - run_began}
    described = {"name": os.path.basename(os.path.normpath(os.fspath(checkpoint))),
                 "layers": model.config.num_hidden_layers}
    results = []
    for prompt, outcome, chosen in zip(checked, outcomes, logits):
        report = build_report(cfg, outcome["records"], prompt_tokens=len(prompt),
                              new_tokens=len(outcome["new_ids"]), seconds=seconds,
                              model_seconds=outcome["seconds"], clock_mhz=clock_mhz,
                              model=described)
        results.append(TransformerRun(new_ids=np.asarray(outcome["new_ids"], dtype=np.int64),
                                      logits=chosen, report=report,
                                      records=outcome["records"]))
    return results


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
    parser = OneLineParser(prog=PROG, description="Continue a prompt with every BitLinear "
                           "projection of a BitNet b1.58 checkpoint executed on the simulated "
                           "accelerator (the tokens and logits equal python -m "
                           "golden.generate's bit for bit).")
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
    array.add_argument("--clock-mhz", type=positive_number, default=DEFAULT_CLOCK_MHZ,
                       metavar="MHZ", help="clock of the projected tokens/s, a positive "
                                           "finite number (default %(default)s)")
    array.add_argument("--report", metavar="PATH",
                       help="write the report as JSON to PATH and its picture beside it "
                            "(PATH with the extension .png) (default: not written)")
    return parser


def _run(argv):
    args = _parser().parse_args(argv)
    outputs = []
    if args.report is not None:
        outputs = [(args.report, "--report"), (picture_path(args.report), "--report picture")]
    job = prepare(args, outputs)
    try:
        run = run_transformer(args.checkpoint, job.prompt, args.max_new_tokens,
                              rows=args.rows, cols=args.cols, weight_format=args.weight_format,
                              clock_mhz=args.clock_mhz, temperature=args.temperature,
                              top_k=args.top_k, seed=args.seed, stop_at_eos=args.stop_at_eos,
                              progress=True)
    except ValueError as error:       # a limit of the accelerator (max_k) or of the model
        raise UsageError(str(error)) from None
    except RuntimeError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(answer_text(job.model, run.new_ids))
    sys.stdout.flush()
    print(format_report(run.report), file=sys.stderr)
    files = Outputs(PROG)
    if args.dump_logits:
        files.write("--dump-logits", args.dump_logits,
                    lambda path: save_array(path, run.logits))
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
