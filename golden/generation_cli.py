"""What ``python -m golden.generate`` and ``python -m cosim.transformer`` share: they are one
job (continue a prompt with a BitNet checkpoint) on two back ends, so they take the same
options, with the same names, defaults, limits and messages, from here.

* :func:`add_generation_options` defines the options of the job itself (checkpoint, prompts,
  generation, ``--dump-logits``); a back end adds its own.
* :func:`prepare` checks everything against the checkpoint before any work starts: every
  prompt (characters the tokenizer does not know are refused, naming them), the limits that
  depend on the model, and every output path.
* :func:`answer_text` is what goes to standard output (the answer, nothing else; one per
  prompt, in order); :class:`Outputs` writes the result files after the run and never loses
  one file to another's write error.

Several prompts. ``--prompt`` (or ``--prompt-ids``) given more than once makes a batch: the
prompts are generated together (:meth:`golden.BitNetModel.steps_batch`: every projection of a
decode step is one GEMM over all live sequences), with the same options for all; each answer is
the one the prompt gets alone. With one prompt the job, its messages and its output are those
of a single-prompt run. A refusal about one of several prompts names it by its place
(``--prompt #2 is empty``).

Every refusal is a :class:`golden.cli.UsageError` (one line, exit 2).
"""

import argparse
import dataclasses
import math
import os
import sys
import tempfile

import numpy as np

from golden.checkpoint import CheckpointError, load_checkpoint
from golden.checks import first_bad_index, format_index
from golden.cli import UsageError, check_output_file, integer, integer_range


__all__ = ["add_generation_options", "prepare", "Prepared", "answer_text", "Outputs",
           "save_array", "save_logits", "non_negative_number", "token_ids"]


def non_negative_number(text):
    """An argparse type: a finite number of at least 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number of at least 0, not {text!r}")
    return value


def token_ids(text):
    """An argparse type: comma-separated integers (``128000,9906``)."""
    try:
        return np.array([int(part, 10) for part in text.split(",")], dtype=np.int64)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, not {text!r}") from None
    except OverflowError:   # beyond int64: no vocabulary is that large
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers of at most 64 bits, not {text!r}") from None


def add_generation_options(parser):
    """Add the options of the generation job to ``parser`` (a :class:`golden.cli.OneLineParser`)."""
    job = parser.add_argument_group("the model and the prompt")
    job.add_argument("--checkpoint", required=True, metavar="DIR",
                     help="HuggingFace BitNet folder: config.json, model.safetensors and "
                          "optionally tokenizer.json (required)")
    prompt = job.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--prompt", metavar="TEXT", action="append",
                        help="prompt text; needs tokenizer.json, and every character must be "
                             "known to it; repeat it to generate several prompts as one batch "
                             "(one of --prompt and --prompt-ids is required)")
    prompt.add_argument("--prompt-ids", type=token_ids, metavar="IDS", action="append",
                        help="prompt token ids, comma-separated, each from 0 to the vocabulary "
                             "size - 1, e.g. 1,2,3; repeat it to generate several prompts as "
                             "one batch (one of --prompt and --prompt-ids is required)")
    generation = parser.add_argument_group("generation")
    generation.add_argument("--max-new-tokens", type=integer_range(1), required=True,
                            metavar="N",
                            help="tokens to generate: at least 1, at most "
                                 "max_position_embeddings minus the prompt length (required)")
    generation.add_argument("--temperature", type=non_negative_number, default=0.0,
                            metavar="T",
                            help="0 is greedy (the largest logit); above 0, sample from "
                                 "softmax(logits / T); a finite number of at least 0 "
                                 "(default %(default)s)")
    generation.add_argument("--top-k", type=integer, default=None, metavar="K",
                            help="sample among the K most likely tokens, 1 to the vocabulary "
                                 "size (default: all)")
    generation.add_argument("--seed", type=integer_range(0), default=None, metavar="S",
                            help="sampling seed, an integer of at least 0; the same seed gives "
                                 "the same tokens (default: a fresh random seed)")
    generation.add_argument("--stop-at-eos", action="store_true",
                            help="stop after the checkpoint's end-of-sequence token (it is "
                                 "printed; default: always generate --max-new-tokens tokens)")
    generation.add_argument("--dump-logits", metavar="PATH",
                            help="write the float32 [new tokens, vocab] logits that chose "
                                 "each token to PATH as .npy; with several prompts, an .npz "
                                 "archive of one such array per prompt, named prompt_0, "
                                 "prompt_1, ... (default: not written)")


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A checked generation job: the ``model`` (with its ``tokenizer`` or None), the
    ``prompts`` (a list of int64 ``[P_i]`` ids, one per ``--prompt`` or ``--prompt-ids``, in
    order) and the parsed ``args``."""
    model: object
    prompts: list
    args: argparse.Namespace


def prepare(args, outputs=()):
    """Load the checkpoint and check the job against it, before any work starts.

    ``outputs`` lists ``(path, option)`` of the back end's own output files (besides
    ``--dump-logits``); each must be writable and no two may be the same file. Returns a
    :class:`Prepared`; raises :class:`golden.cli.UsageError`.
    """
    files = [(args.dump_logits, "--dump-logits"), *outputs]
    files = [(path, option) for path, option in files if path is not None]
    for path, option in files:
        check_output_file(path, option)
    seen = {}
    for path, option in files:
        real = os.path.realpath(path)
        if real in seen:
            raise UsageError(f"{option} and {seen[real]} name the same file {path!r}")
        seen[real] = option
    try:
        model = load_checkpoint(args.checkpoint)
    except CheckpointError as error:
        raise UsageError(str(error)) from None
    config = model.config
    vocab = config.vocab_size
    given = args.prompt if args.prompt is not None else args.prompt_ids
    option = "--prompt" if args.prompt is not None else "--prompt-ids"
    labels = [option] if len(given) == 1 else [f"{option} #{i + 1}" for i in range(len(given))]
    prompts = []
    for label, value in zip(labels, given):
        if args.prompt is not None:
            prompt = _encode(model, args, value, label)
        else:
            prompt = value
            bad = (prompt < 0) | (prompt >= vocab)
            if bad.any():
                index = first_bad_index(bad)
                raise UsageError(f"{label}: prompt token ids must lie in [0, {vocab}); found "
                                 f"{prompt[index]} at {format_index(index)}")
        prompts.append(prompt)
    if args.top_k is not None and not 1 <= args.top_k <= vocab:
        raise UsageError(f"--top-k must be an integer from 1 to {vocab}, not {args.top_k}")
    if args.stop_at_eos and not config.eos_token_ids:
        raise UsageError(f"--stop-at-eos needs an eos_token_id in {args.checkpoint}'s "
                         f"config.json")
    limit = config.max_position_embeddings
    for label, prompt in zip(labels, prompts):
        if prompt.size + args.max_new_tokens > limit:
            room = f"at most {limit - prompt.size}" if prompt.size < limit else "none left"
            where = "" if len(prompts) == 1 else f"{label}: "
            raise UsageError(f"{where}{prompt.size} prompt tokens + {args.max_new_tokens} new "
                             f"tokens exceed max_position_embeddings={limit} "
                             f"(--max-new-tokens: {room})")
    return Prepared(model=model, prompts=prompts, args=args)


def _encode(model, args, text, label):
    tokenizer = model.tokenizer
    if tokenizer is None:
        raise UsageError(f"--prompt needs a tokenizer.json in {args.checkpoint}; "
                         f"use --prompt-ids")
    unknown = _unknown_characters(tokenizer, text)
    if unknown:
        raise UsageError(f"{label} has characters that the tokenizer of {args.checkpoint} does "
                         f"not know: {', '.join(map(repr, unknown))}")
    prompt = tokenizer.encode(text)
    if prompt.size == 0:
        raise UsageError(f"{label} is empty")
    return prompt


def _unknown_characters(tokenizer, text):
    """The distinct pieces of ``text`` that the tokenizer maps to its unknown token, in order
    (none for byte-level tokenizers, which know every character)."""
    backend = tokenizer.backend
    unk = getattr(backend.model, "unk_token", None)
    unk_id = backend.token_to_id(unk) if isinstance(unk, str) else None
    if unk_id is None:
        return []
    encoding = backend.encode(text, add_special_tokens=False)
    pieces = []
    for token, (start, end) in zip(encoding.ids, encoding.offsets):
        piece = text[start:end]
        if token == unk_id and piece != unk and piece not in pieces:
            pieces.append(piece)
    return pieces


def save_array(path, array):
    """Write ``array`` as ``.npy`` at exactly ``path`` (``np.save(path)`` would append
    ``.npy`` to any other name)."""
    with open(path, "wb") as handle:
        np.save(handle, array)


def save_logits(path, logits):
    """Write the ``--dump-logits`` file at exactly ``path``: the one array of ``logits`` (a
    list with one float32 ``[new tokens, vocab]`` array per prompt) as ``.npy``, or, for
    several prompts, an ``.npz`` archive with one array per prompt named ``prompt_0``,
    ``prompt_1``, ..."""
    if len(logits) == 1:
        save_array(path, logits[0])
        return
    with open(path, "wb") as handle:
        np.savez(handle, **{f"prompt_{i}": array for i, array in enumerate(logits)})


def answer_text(model, ids):
    """Standard output of a run: the new tokens as text (ids, comma-separated, without a
    tokenizer), ending in exactly one newline, also when the last token is a newline."""
    ids = np.asarray(ids, dtype=np.int64)
    if model.tokenizer is None:
        text = ",".join(str(int(i)) for i in ids)
    else:
        text = model.tokenizer.decode(ids)
    return text if text.endswith("\n") else text + "\n"


class Outputs:
    """The result files of a finished run, written so that a late write error loses nothing:
    ``write(option, path, writer)`` runs ``writer(path)``; if that raises ``OSError``, the
    file is written to the temporary folder instead, and one line on stderr says what could
    not be written, why, and where the data went. The next file is still written.
    :attr:`status` is 0, or 1 when any write failed."""

    def __init__(self, prog, stream=None):
        self.prog = prog
        self.stream = stream
        self.failed = []

    def write(self, option, path, writer):
        try:
            writer(path)
            return True
        except OSError as error:
            reason = error.strerror or str(error)
        self.failed.append(option)
        suffix = os.path.splitext(path)[1]
        handle, fallback = tempfile.mkstemp(prefix=f"{os.path.basename(path)}-", suffix=suffix)
        os.close(handle)
        try:
            writer(fallback)
            saved = f"; written to {fallback} instead"
        except OSError:
            os.unlink(fallback)
            saved = ""
        print(f"{self.prog}: error: could not write {option} {path!r}: {reason}{saved}",
              file=self.stream or sys.stderr)
        return False

    @property
    def status(self):
        return 1 if self.failed else 0
