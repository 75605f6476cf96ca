"""Held-out perplexity of the committed text model in golden, in HuggingFace ``transformers`` and
on the simulated array.

    python benchmarks/text_model_perplexity.py [--checkpoint models/python-stdlib]
        [--windows 32] [--seed 20261201] [--cosim-windows N] [--rows 16 --cols 16]
        [--engines golden hf cosim]

The windows: ``--windows`` windows of ``max_position_embeddings + 1`` consecutive characters
of the held-out text of :mod:`training.text_task` (the ``.py`` files of this interpreter's
standard library whose path hashes into the held-out split), at offsets drawn by
:func:`training.text_task.eval_windows` from ``--seed`` (default
:data:`training.text_task.EVAL_SEED`, the windows ``training.json`` reports). The model reads
the first ``max_position_embeddings`` characters of a window in one forward pass and is scored
on the next character at every position; the per-character perplexity is ``exp`` of the mean
negative log-likelihood over every position of every window (float64 log-softmax of float32
logits, :func:`training.text_task.mean_nll`). A uniform prediction scores exactly the
vocabulary size, 98.

Engines (each its own row of the table):

* ``golden``: :class:`golden.BitNetModel` of the folder, one forward pass per window.
* ``hf``: ``transformers.BitNetForCausalLM.from_pretrained`` of the same folder (CPU, float32,
  eager attention, the packed ``bitlinear`` layers); its last-bit rounding differs from
  golden's (``y / (s * weight_scale)``), so its logits are compared by their largest
  difference.
* ``cosim``: the first ``--cosim-windows`` windows (default all) with every BitLinear
  projection (q, k, v, o, gate, up, down: 28 GEMMs per window for 4 layers) on a ``--rows``
  x ``--cols`` accelerator simulated by Verilator: golden's model with :func:`cosim.run_gemm`
  as its GEMM backend (the same harness build and the same division of work as ``python -m
  cosim.transformer``: the array computes every integer GEMM, golden's NumPy the norms,
  rotary embedding, attention and ``lm_head``). Its logits must be bit-identical to golden's
  for the same windows (the script exits with status 1 otherwise), and its row also gives the
  array cycles of one window's prefill (weight loading included). When it runs fewer windows
  than ``--windows``, golden's figure on those windows is printed above it, so the two
  perplexities compare the same characters.

The first run builds the simulator (about a minute for 16x16; cached in ``sim_build/``).
Bad arguments: one line on stderr and exit 2.
"""

import math
import os
import pathlib
import sys
import time

import numpy as np

# training/ is not an installed package: run from the checkout.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import golden  # noqa: E402
from golden.cli import OneLineParser, UsageError, integer_range, run_cli  # noqa: E402
from training import text_task  # noqa: E402

PROG = "python benchmarks/text_model_perplexity.py"
DEFAULT_CHECKPOINT = os.path.join("models", text_task.NAME)
ENGINES = ("golden", "hf", "cosim")


def golden_logits(model, windows):
    """Golden logits of every position of ``windows[:, :-1]``, float32 ``[n, T, vocab]``."""
    return np.stack([model(row[:-1]) for row in windows])


def hf_logits(checkpoint, windows):
    """``transformers`` logits of every position of ``windows[:, :-1]`` (CPU, float32)."""
    # HF wraps its BitNet layers in torch.compile when transformers.integrations.bitnet is
    # first imported; eager is much faster for a model this small.
    os.environ["TORCHDYNAMO_DISABLE"] = "1"
    import torch
    import transformers

    hf = transformers.BitNetForCausalLM.from_pretrained(
        checkpoint, dtype=torch.float32, attn_implementation="eager")
    hf.eval()
    with torch.no_grad():
        return np.concatenate([
            hf(torch.from_numpy(windows[i:i + 8, :-1])).logits.numpy()
            for i in range(0, len(windows), 8)])


class ArrayGemm:
    """A golden GEMM backend that runs every GEMM on the simulated ``rows`` x ``cols``
    accelerator (:func:`cosim.run_gemm`) and counts its cycles."""

    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols
        self.cycles = 0
        self.calls = 0

    def __call__(self, xq, wq):
        from cosim import run_gemm

        result = run_gemm(xq, wq, rows=self.rows, cols=self.cols)
        self.cycles += result.cycles
        self.calls += 1
        return result.y


def cosim_logits(checkpoint, windows, rows, cols):
    """Logits of every position of ``windows[:, :-1]`` with every projection on the simulated
    array; returns ``(logits, cycles per window, GEMMs per window)``."""
    model = golden.load_checkpoint(checkpoint)
    backend = ArrayGemm(rows, cols)
    model.gemm = backend
    logits = golden_logits(model, windows)
    return logits, backend.cycles // len(windows), backend.calls // len(windows)


def _parser():
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT,
                        help=f"the model folder (default {DEFAULT_CHECKPOINT})")
    parser.add_argument("--windows", type=integer_range(1, 4096),
                        default=text_task.EVAL_WINDOWS,
                        help=f"held-out windows, 1 to 4096 (default {text_task.EVAL_WINDOWS})")
    parser.add_argument("--seed", type=integer_range(0), default=text_task.EVAL_SEED,
                        help=f"seed of the window offsets (default {text_task.EVAL_SEED})")
    parser.add_argument("--cosim-windows", type=integer_range(1), default=None,
                        help="windows (the first ones) also run on the simulated array "
                             "(default: all of them, about 4 s each on 16x16)")
    parser.add_argument("--rows", type=integer_range(1, 256), default=16,
                        help="array rows of the co-simulation (default 16)")
    parser.add_argument("--cols", type=integer_range(1, 256), default=16,
                        help="array columns of the co-simulation (default 16)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES),
                        help="what to run (default: golden hf cosim; golden always runs, as "
                             "the reference)")
    return parser


def _row(engine, windows, context, nll, seconds, note):
    """A table row: ``windows`` windows score ``windows * context`` characters; ``seconds``
    None for a row computed from another's logits."""
    took = "-" if seconds is None else f"{seconds:.1f}"
    return (f"| {engine} | {windows} | {windows * context:,} | {nll:.4f} | "
            f"{math.exp(nll):.4f} | {took} | {note} |")


def _run(argv):
    args = _parser().parse_args(argv)
    if "hf" in args.engines:
        import importlib.util

        missing = [name for name in ("torch", "transformers", "accelerate")
                   if importlib.util.find_spec(name) is None]
        if missing:
            raise UsageError(f"--engines hf needs {', '.join(missing)} (pip install -e "
                             f"'.[hf]'), or leave hf out of --engines")
    if args.cosim_windows is None:
        args.cosim_windows = args.windows
    if args.cosim_windows > args.windows:
        raise UsageError(f"--cosim-windows {args.cosim_windows} is more than --windows "
                         f"{args.windows}")
    try:
        model = golden.load_checkpoint(args.checkpoint)
    except (OSError, ValueError) as error:
        raise UsageError(f"--checkpoint {args.checkpoint!r}: {error}") from None
    if model.config.vocab_size != len(text_task.VOCAB):
        raise UsageError(f"--checkpoint {args.checkpoint!r} has a vocabulary of "
                         f"{model.config.vocab_size}, not the text task's {len(text_task.VOCAB)}")
    context = model.config.max_position_embeddings
    corpus = text_task.load_corpus()
    windows = text_task.eval_windows(corpus.held_out_ids, args.windows, context + 1,
                                     seed=args.seed)
    targets = windows[:, 1:]
    info = corpus.summary()
    print(f"{args.checkpoint}: held-out text of Python {info['python']}'s standard library "
          f"({info['held_out_files']} files, {info['held_out_chars']:,} characters, SHA-256 "
          f"{info['held_out_sha256'][:12]}...), {args.windows} windows of {context} + 1 "
          f"characters (seed {args.seed}); uniform prediction: perplexity "
          f"{len(text_task.VOCAB)}\n", flush=True)
    print("| engine | windows | characters scored | mean NLL (nats) | perplexity | seconds | "
          "against golden |")
    print("|---|---|---|---|---|---|---|", flush=True)

    began = time.perf_counter()
    reference = golden_logits(model, windows)
    print(_row("golden", args.windows, context, text_task.mean_nll(reference, targets),
               time.perf_counter() - began, "(the reference)"), flush=True)

    if "hf" in args.engines:
        began = time.perf_counter()
        theirs = hf_logits(args.checkpoint, windows)
        diff = float(np.abs(theirs - reference).max())
        print(_row("transformers (CPU)", args.windows, context, text_task.mean_nll(theirs, targets),
                   time.perf_counter() - began, f"logits within {diff:.1e}"), flush=True)

    status = 0
    if "cosim" in args.engines:
        k = args.cosim_windows
        began = time.perf_counter()
        ours, cycles, gemms = cosim_logits(args.checkpoint, windows[:k], args.rows, args.cols)
        seconds = time.perf_counter() - began
        identical = np.array_equal(ours, reference[:k])
        note = (f"logits identical; {gemms} GEMMs and {cycles:,} array cycles per window"
                if identical else "LOGITS DIFFER")
        if k < args.windows:
            print(_row("golden, same windows", k, context, text_task.mean_nll(reference[:k],
                                                                      targets[:k]),
                       None, "(the reference)"))
        print(_row(f"{args.rows}x{args.cols} array (Verilator)", k, context,
                   text_task.mean_nll(ours, targets[:k]), seconds, note), flush=True)
        if not identical:
            where = tuple(int(i) for i in np.argwhere(ours != reference[:k])[0])
            print(f"{PROG}: co-simulated logits differ from golden's, first at {where}",
                  file=sys.stderr)
            status = 1
    return status


def main(argv=None):
    """The command line; returns the exit status (0; 2 with one line on stderr for bad input;
    1 if the co-simulated logits differ from golden's)."""
    return run_cli(PROG, _run, argv)


if __name__ == "__main__":
    sys.exit(main())
