"""Command line: continue a prompt with the golden BitNet model of a checkpoint folder.

    python -m golden.generate --checkpoint DIR (--prompt TEXT ... | --prompt-ids 1,2,3 ...)
                              --max-new-tokens N [--temperature T] [--top-k K] [--seed S]
                              [--stop-at-eos] [--dump-logits PATH]

The same job, with the same options, as ``python -m cosim.transformer`` (which runs every
projection on the simulated accelerator); the options are defined once in
:mod:`golden.generation_cli`. Prints the continuation on stdout (text when the checkpoint has a
``tokenizer.json``, else comma-separated token ids) and one timing line on stderr: prefill time
and decode tokens/s. Several ``--prompt`` (or ``--prompt-ids``) are generated as one batch
(:meth:`golden.BitNetModel.steps_batch`; ``--seed`` seeds every prompt's sampler alike): one
answer per prompt on stdout, in order, each the one the prompt gets alone; the timing line then
sums the tokens of all sequences. Bad arguments and bad checkpoints exit with status 2 and one line on
stderr, before any work; a result file that cannot be written at the end exits with status 1
after writing it to the temporary folder instead.
"""

import sys
import time

import numpy as np

from golden.cli import OneLineParser, run_cli
from golden.generation_cli import Outputs, add_generation_options, answer_text, prepare, \
    save_logits

__all__ = ["main"]

PROG = "python -m golden.generate"


def _parser():
    parser = OneLineParser(prog=PROG, description="Continue a prompt with the golden BitNet "
                           "b1.58 model of a HuggingFace checkpoint folder (NumPy).")
    add_generation_options(parser)
    return parser


def _run(argv):
    job = prepare(_parser().parse_args(argv))
    args, model, prompts = job.args, job.model, job.prompts
    steps = model.steps_batch(prompts, args.max_new_tokens, temperature=args.temperature,
                              top_k=args.top_k, seed=args.seed, stop_at_eos=args.stop_at_eos)
    began = time.perf_counter()
    produced = [[] for _ in prompts]
    logits = [[] for _ in prompts]
    first = None
    for step in steps:
        for index, token, row in step:
            produced[index].append(token)
            logits[index].append(row)
        first = time.perf_counter() if first is None else first
    ended = time.perf_counter()
    sys.stdout.write("".join(answer_text(model, ids) for ids in produced))
    sys.stdout.flush()
    total = sum(map(len, produced))
    decode = total - len(prompts)
    rate = f"{decode / (ended - first):.1f} tokens/s" if decode else "n/a"
    print(f"prefill {sum(p.size for p in prompts)} tokens in {first - began:.3f} s; decode "
          f"{decode} tokens in {ended - first:.3f} s ({rate}); {total / (ended - began):.1f} "
          f"new tokens/s overall", file=sys.stderr)
    outputs = Outputs(PROG)
    if args.dump_logits:
        arrays = [np.stack(rows).astype(np.float32) for rows in logits]
        outputs.write("--dump-logits", args.dump_logits, lambda path: save_logits(path, arrays))
    return outputs.status


def main(argv=None):
    """Run the command line; returns the exit status (0; 2 for a user error; 1 when a result
    file could not be written)."""
    return run_cli(PROG, _run, argv)


if __name__ == "__main__":
    sys.exit(main())
