"""Command line: continue a prompt with the golden BitNet model of a checkpoint folder.

    python -m golden.generate --checkpoint DIR (--prompt TEXT | --prompt-ids 1,2,3)
                              --max-new-tokens N [--temperature T] [--top-k K] [--seed S]
                              [--stop-at-eos]

Prints the continuation on stdout (text when the checkpoint has a ``tokenizer.json``, else
comma-separated token ids) and one timing line on stderr: prefill time and decode tokens/s.
Bad arguments and bad checkpoints exit with status 2 and one line on stderr.
"""

import argparse
import sys
import time

import numpy as np

from golden.checkpoint import CheckpointError, load_checkpoint

__all__ = ["main"]

PROG = "python -m golden.generate"


class UsageError(Exception):
    """A one-line user error; exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _integer(text):
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from None


def _number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None


def _token_ids(text):
    try:
        return np.array([int(part, 10) for part in text.split(",")], dtype=np.int64)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, not {text!r}") from None


def _parser():
    parser = _Parser(prog=PROG, description="Continue a prompt with the golden BitNet b1.58 "
                     "model of a HuggingFace checkpoint folder.")
    parser.add_argument("--checkpoint", required=True, metavar="DIR",
                        help="folder with config.json and model.safetensors")
    prompt = parser.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--prompt", metavar="TEXT",
                        help="prompt text (needs tokenizer.json in the checkpoint)")
    prompt.add_argument("--prompt-ids", type=_token_ids, metavar="IDS",
                        help="prompt token ids, e.g. 128000,9906")
    parser.add_argument("--max-new-tokens", type=_integer, required=True, metavar="N",
                        help="tokens to generate")
    parser.add_argument("--temperature", type=_number, default=0.0,
                        help="0 = greedy (default); above 0, sample")
    parser.add_argument("--top-k", type=_integer, default=None, metavar="K",
                        help="sample among the K most likely tokens")
    parser.add_argument("--seed", type=_integer, default=None, help="sampling seed")
    parser.add_argument("--stop-at-eos", action="store_true",
                        help="stop after an end-of-sequence token")
    return parser


def _run(argv):
    args = _parser().parse_args(argv)
    try:
        model = load_checkpoint(args.checkpoint)
    except CheckpointError as error:
        raise UsageError(str(error)) from None
    if args.prompt is not None:
        if model.tokenizer is None:
            raise UsageError(f"--prompt needs a tokenizer.json in {args.checkpoint}; "
                             f"use --prompt-ids")
        prompt = model.tokenizer.encode(args.prompt)
    else:
        prompt = args.prompt_ids
    try:
        tokens = model.stream(prompt, args.max_new_tokens, temperature=args.temperature,
                              top_k=args.top_k, seed=args.seed, stop_at_eos=args.stop_at_eos)
    except (TypeError, ValueError) as error:
        message = str(error)
        for name in ("max_new_tokens", "temperature", "top_k", "seed", "stop_at_eos"):
            message = message.replace(name, "--" + name.replace("_", "-"))
        raise UsageError(message.replace("token_ids", "prompt token ids")) from None
    began = time.perf_counter()
    produced, first = [], None
    for token in tokens:
        produced.append(token)
        first = time.perf_counter() if first is None else first
    ended = time.perf_counter()
    return model, prompt, np.array(produced, dtype=np.int64), began, first, ended


def main(argv=None):
    """Run the command line; returns the exit status (0, or 2 for a user error)."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        model, prompt, produced, began, first, ended = _run(argv)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    if model.tokenizer is not None:
        print(model.tokenizer.decode(produced))
    else:
        print(",".join(str(int(token)) for token in produced))
    if produced.size == 0:
        print("no new tokens requested", file=sys.stderr)
        return 0
    decode = produced.size - 1
    rate = f"{decode / (ended - first):.1f} tokens/s" if decode else "n/a"
    print(f"prefill {prompt.size} tokens in {first - began:.3f} s; decode {decode} tokens in "
          f"{ended - first:.3f} s ({rate}); {produced.size / (ended - began):.1f} new tokens/s "
          f"overall", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
