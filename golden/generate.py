"""Command line: continue a prompt with the golden BitNet model of a checkpoint folder.

    python -m golden.generate --checkpoint DIR (--prompt TEXT | --prompt-ids 1,2,3)
                              --max-new-tokens N [--temperature T] [--top-k K] [--seed S]
                              [--stop-at-eos] [--dump-logits PATH]

The same job, with the same options, as ``python -m cosim.transformer`` (which runs every
projection on the simulated accelerator); the options are defined once in
:mod:`golden.generation_cli`. Prints the continuation on stdout (text when the checkpoint has a
``tokenizer.json``, else comma-separated token ids) and one timing line on stderr: prefill time
and decode tokens/s. Bad arguments and bad checkpoints exit with status 2 and one line on
stderr, before any work; a result file that cannot be written at the end exits with status 1
after writing it to the temporary folder instead.
"""

import sys
import time

import numpy as np

from golden.cli import OneLineParser, run_cli
from golden.generation_cli import Outputs, add_generation_options, answer_text, prepare, \
    save_array

__all__ = ["main"]

PROG = "python -m golden.generate"


def _parser():
    parser = OneLineParser(prog=PROG, description="Continue a prompt with the golden BitNet "
                           "b1.58 model of a HuggingFace checkpoint folder (NumPy).")
    add_generation_options(parser)
    return parser


def _run(argv):
    job = prepare(_parser().parse_args(argv))
    args, model = job.args, job.model
    steps = model.steps(job.prompt, args.max_new_tokens, temperature=args.temperature,
                        top_k=args.top_k, seed=args.seed, stop_at_eos=args.stop_at_eos)
    began = time.perf_counter()
    produced, logits, first = [], [], None
    for token, row in steps:
        produced.append(token)
        logits.append(row)
        first = time.perf_counter() if first is None else first
    ended = time.perf_counter()
    sys.stdout.write(answer_text(model, produced))
    sys.stdout.flush()
    decode = len(produced) - 1
    rate = f"{decode / (ended - first):.1f} tokens/s" if decode else "n/a"
    print(f"prefill {job.prompt.size} tokens in {first - began:.3f} s; decode {decode} tokens "
          f"in {ended - first:.3f} s ({rate}); {len(produced) / (ended - began):.1f} new "
          f"tokens/s overall", file=sys.stderr)
    outputs = Outputs(PROG)
    if args.dump_logits:
        outputs.write("--dump-logits", args.dump_logits,
                      lambda path: save_array(path, np.stack(logits).astype(np.float32)))
    return outputs.status


def main(argv=None):
    """Run the command line; returns the exit status (0; 2 for a user error; 1 when a result
    file could not be written)."""
    return run_cli(PROG, _run, argv)


if __name__ == "__main__":
    sys.exit(main())
