"""The full BitNet transformer with every BitLinear projection on the simulated accelerator.

    python -m cosim.transformer --checkpoint models/sort-digits --rows 16 --cols 16 \
        --prompt "..." --max-new-tokens 16 [--dump-logits logits.npy] [--report run.json]

The golden model runs unchanged; its GEMM backend is the generated RTL in Verilator driven by
cocotb (see ``cosim/_transformer_job.py``). Generation is greedy. :func:`run_transformer` is the
same run from Python.
"""

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time

import numpy as np

import golden
from rtl.config import AccelConfig, ConfigError

from .report import build_report, format_report, plot_cycles_per_layer


__all__ = ["TransformerRun", "run_transformer", "run_transformer_batch", "greedy_with_logits",
           "main"]

PROG = "python -m cosim.transformer"


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


def greedy_with_logits(model, prompt_ids, max_new_tokens, *, on_step=None):
    """Greedy generation with golden's KV cache: ``(new ids, logits [steps, vocab])``.

    The hardware run and its pure-golden reference both call this, so they make the same
    calls in the same order. ``on_step(phase, step)`` is called before each forward pass
    (``"prefill", 0`` then ``"decode", 1 ..``)."""
    cache = model.new_cache()
    if on_step:
        on_step("prefill", 0)
    logits = model.forward(np.asarray(prompt_ids, dtype=np.int64), cache, last_only=True)
    new_ids, chosen = [], []
    for step in range(max_new_tokens):
        chosen.append(logits[-1])
        token = int(np.argmax(logits[-1]))
        new_ids.append(token)
        if step + 1 < max_new_tokens:
            if on_step:
                on_step("decode", step + 1)
            logits = model.forward(np.asarray([token], dtype=np.int64), cache, last_only=True)
    return np.asarray(new_ids, dtype=np.int64), np.stack(chosen).astype(np.float32)


def run_transformer(checkpoint, prompt_ids, max_new_tokens, *, rows, cols, weight_format="i2",
                    clock_mhz=200.0, progress=False, **config):
    """Greedy generation with every projection on a ``rows`` x ``cols`` accelerator.

    Returns a :class:`TransformerRun`. Raises ``ValueError`` (bad sizes, prompt ids outside the
    vocabulary, a bad checkpoint via ``golden.CheckpointError``) before any simulation, and
    ``RuntimeError`` if the simulation fails (a hardware result that differs from golden is
    reported with its layer, projection, tile and element).
    """
    return run_transformer_batch(checkpoint, [prompt_ids], max_new_tokens, rows=rows,
                                 cols=cols, weight_format=weight_format, clock_mhz=clock_mhz,
                                 progress=progress, **config)[0]


def run_transformer_batch(checkpoint, prompts, max_new_tokens, *, rows, cols,
                          weight_format="i2", clock_mhz=200.0, progress=False, **config):
    """:func:`run_transformer` for several prompts in one simulator session (one build, one
    simulator start): a list of :class:`TransformerRun`, one per prompt, each with its own
    report."""
    from gen.emit import emit_verilog
    from .bench import CONFIG_VARIABLE
    from .build import TopPortsVerilator, build_design, verilator_environment, waves_requested
    from ._transformer_job import JOB_VARIABLE

    began = time.perf_counter()
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) \
            or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive integer, not {max_new_tokens!r}")
    cfg = AccelConfig(rows=rows, cols=cols, weight_format=weight_format, **config)
    model = golden.load_checkpoint(checkpoint)
    if not prompts:
        raise ValueError("at least one prompt is needed")
    checked = [_check_prompt(model, prompt, max_new_tokens) for prompt in prompts]
    widest = max(w.shape[1] for w, _ in model.projections().values())
    if widest > cfg.max_k:
        raise ValueError(f"a projection has K={widest}, beyond max_k={cfg.max_k}")

    verilator_environment()
    folder = build_design("top", cfg.digest, emit_verilog(cfg), cfg.name)
    runs = folder / "transformer-runs"
    runs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=runs) as work:
        job_path = os.path.join(work, "job.json")
        with open(job_path, "w") as handle:
            json.dump({"checkpoint": os.path.abspath(checkpoint), "prompts": checked,
                       "progress": progress, "max_new_tokens": max_new_tokens}, handle)
        log = os.path.join(work, "sim.log")
        env = {CONFIG_VARIABLE: json.dumps(cfg.as_dict()), JOB_VARIABLE: job_path}
        if progress:
            # The simulator's own output then goes to the terminal: keep cocotb quiet so that
            # the progress lines (and any error) are what shows.
            env["COCOTB_LOG_LEVEL"] = "WARNING"
            env["GPI_LOG_LEVEL"] = "WARNING"
        try:
            TopPortsVerilator().test(
                test_module="cosim._transformer_job", hdl_toplevel=cfg.name,
                hdl_toplevel_lang="verilog", build_dir=folder, test_dir=work, extra_env=env,
                waves=waves_requested(), results_xml=os.path.join(work, "results.xml"),
                log_file=None if progress else log)
            with open(os.path.join(work, "result.json")) as handle:
                outcomes = json.load(handle)
            logits = [np.load(os.path.join(work, f"logits-{i}.npy"))
                      for i in range(len(outcomes))]
        except (SystemExit, FileNotFoundError):
            kept = folder / "transformer-failed.log"
            reason = "see the log"
            if os.path.exists(log):
                os.replace(log, kept)
                for line in kept.read_text(errors="replace").splitlines():
                    if "HardwareMismatch" in line or "Error:" in line:
                        reason = line.strip()
            raise RuntimeError(f"co-simulation failed: {reason}; log: {kept}") from None
    wall = time.perf_counter() - began
    results = []
    for prompt, outcome, chosen in zip(checked, outcomes, logits):
        report = build_report(cfg, outcome["records"], prompt_tokens=len(prompt),
                              new_tokens=max_new_tokens, wall_seconds=wall / len(checked),
                              model_seconds=outcome["seconds"], clock_mhz=clock_mhz)
        results.append(TransformerRun(new_ids=np.asarray(outcome["new_ids"], dtype=np.int64),
                                      logits=chosen, report=report,
                                      records=outcome["records"]))
    return results


def _check_prompt(model, prompt_ids, max_new_tokens):
    prompt = np.asarray(prompt_ids)
    if prompt.ndim != 1 or prompt.size == 0 or not np.issubdtype(prompt.dtype, np.integer):
        raise ValueError("prompt_ids must be a non-empty 1-D sequence of integers")
    vocab = model.config.vocab_size
    if prompt.min() < 0 or prompt.max() >= vocab:
        raise ValueError(f"prompt ids must lie in [0, {vocab})")
    if prompt.size + max_new_tokens > model.config.max_position_embeddings:
        raise ValueError(f"{prompt.size} prompt + {max_new_tokens} new tokens exceed "
                         f"max_position_embeddings={model.config.max_position_embeddings}")
    return [int(i) for i in prompt]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(message)


def _parse(argv):
    parser = _Parser(prog=PROG, description="Greedy generation with every BitLinear "
                     "projection executed on the simulated accelerator.")
    parser.add_argument("--checkpoint", required=True, help="HuggingFace BitNet folder")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--cols", type=int, required=True)
    parser.add_argument("--weight-format", choices=("i2", "t5"), default="i2")
    prompt = parser.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--prompt", help="text (needs tokenizer.json in the checkpoint)")
    prompt.add_argument("--prompt-ids", help="comma-separated token ids")
    parser.add_argument("--max-new-tokens", type=int, required=True)
    parser.add_argument("--clock-mhz", type=float, default=200.0,
                        help="clock for the projected tokens/s (default %(default)s)")
    parser.add_argument("--dump-logits", help="write float32 [steps, vocab] logits (.npy)")
    parser.add_argument("--report", help="write the report as JSON (and a PNG beside it)")
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parse(argv)
        if not os.path.isdir(args.checkpoint):
            raise _UsageError(f"checkpoint folder {args.checkpoint!r} does not exist")
        tokenizer = None
        if args.prompt is not None:
            model_for_tokens = golden.load_checkpoint(args.checkpoint)
            tokenizer = model_for_tokens.tokenizer
            if tokenizer is None:
                raise _UsageError(f"{args.checkpoint} has no tokenizer.json; use --prompt-ids")
            prompt_ids = tokenizer.encode(args.prompt)
        else:
            try:
                prompt_ids = [int(v) for v in args.prompt_ids.split(",")]
            except ValueError:
                raise _UsageError(f"--prompt-ids must be comma-separated integers, "
                                  f"not {args.prompt_ids!r}") from None
        for option in (args.dump_logits, args.report):
            if option and not os.path.isdir(os.path.dirname(os.path.abspath(option))):
                raise _UsageError(f"cannot write {option!r}: its folder does not exist")
        run = run_transformer(args.checkpoint, prompt_ids, args.max_new_tokens, rows=args.rows,
                              cols=args.cols, weight_format=args.weight_format,
                              clock_mhz=args.clock_mhz, progress=True)
    except (_UsageError, ValueError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    ids = [int(i) for i in run.new_ids]
    print(tokenizer.decode(ids) if tokenizer else ",".join(map(str, ids)))
    print(format_report(run.report), file=sys.stderr)
    if args.dump_logits:
        np.save(args.dump_logits, run.logits)
    if args.report:
        with open(args.report, "w") as handle:
            json.dump(run.report, handle, indent=2)
        plot_cycles_per_layer(run.report, os.path.splitext(args.report)[0] + ".png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
