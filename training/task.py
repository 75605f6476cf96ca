"""The synthetic task: sort a sequence of digits. Pure Python and NumPy, no torch.

A problem is a string of :data:`LENGTH` decimal digits; the model reads the
prompt ``"<digits>="`` and must continue with the same digits in ascending
order, then the end-of-sequence character :data:`EOS` (a newline)::

    prompt  "531962="
    answer  "123569"
    target  "123569\\n"          (answer + EOS, what the model must generate)

Digits may repeat, so the model has to keep counts, not only order.

Splits
    A problem belongs to the held-out split when the first byte of the
    SHA-256 of its digits is below :data:`HELD_OUT_BYTES` (about 10% of all
    10**6 problems). Training draws only from the other problems and
    evaluation only from the held-out ones, so no held-out problem is ever
    seen in training, whatever the seed or the number of steps.

Vocabulary
    One token per character (:data:`VOCAB`); ids are positions in that
    tuple. :func:`build_tokenizer` makes the same mapping as a HuggingFace
    ``tokenizers`` tokenizer for ``tokenizer.json``; :func:`encode` and
    :func:`decode` do it without that package.
"""

import hashlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    # constants
    "NAME",
    "LENGTH",
    "EOS",
    "UNK",
    "VOCAB",
    "SEQ_LEN",
    "HELD_OUT_BYTES",
    "EVAL_SEED",
    # problems and splits
    "Example",
    "make_example",
    "is_held_out",
    "held_out_table",
    "sample_examples",
    "sample_train_ids",
    # tokens
    "encode",
    "decode",
    "encode_batch",
    "build_tokenizer",
    # metric
    "exact_match",
]

#: Name of the task, also the checkpoint folder ``models/<NAME>``.
NAME = "sort-digits"
#: Digits per problem.
LENGTH = 6
#: End of the answer. A visible character would do as well; a newline keeps
#: the CLI output tidy.
EOS = "\n"
#: Stands for any character outside the vocabulary (never produced in training).
UNK = "<unk>"
#: Tokens in id order: digits 0-9 are ids 0-9, then "=", EOS and UNK.
VOCAB = tuple("0123456789") + ("=", EOS, UNK)
#: Tokens in one training sequence: prompt (LENGTH + 1) + answer (LENGTH) + EOS.
SEQ_LEN = 2 * LENGTH + 2
#: Problems whose SHA-256 starts with a byte below this are held out (26/256).
HELD_OUT_BYTES = 26

#: Seed of the fixed held-out examples that training reports and the tests check.
EVAL_SEED = 20250101

_ID = {token: i for i, token in enumerate(VOCAB)}
_HELD_OUT_TABLE = None


@dataclass(frozen=True)
class Example:
    """One problem: ``prompt`` (digits and ``=``) and ``answer`` (sorted digits, no EOS)."""

    prompt: str
    answer: str

    @property
    def target(self):
        """What the model must generate after the prompt: the answer, then EOS."""
        return self.answer + EOS


def make_example(digits):
    """The :class:`Example` for a string of :data:`LENGTH` digits."""
    if not isinstance(digits, str) or len(digits) != LENGTH or not digits.isdecimal():
        raise ValueError(f"a problem must be {LENGTH} decimal digits, not {digits!r}")
    return Example(prompt=digits + "=", answer="".join(sorted(digits)))


def is_held_out(digits):
    """Whether the problem ``digits`` belongs to the held-out split (stable across runs)."""
    return hashlib.sha256(digits.encode("ascii")).digest()[0] < HELD_OUT_BYTES


def _draw(rng, n):
    return ["".join(map(str, row)) for row in rng.integers(0, 10, size=(n, LENGTH))]


def sample_examples(n, *, seed, split):
    """``n`` examples of one split, drawn reproducibly from ``seed``.

    Parameters
    ----------
    n : int
        Number of examples.
    seed : int
        Seed of the NumPy generator; the same seed gives the same examples.
    split : {"train", "held-out"}
        ``"train"`` draws with replacement from the training problems (an
        endless stream cut into batches); ``"held-out"`` draws ``n``
        *distinct* held-out problems.

    Returns
    -------
    list of Example
    """
    if split not in ("train", "held-out"):
        raise ValueError(f"split must be 'train' or 'held-out', not {split!r}")
    rng = np.random.default_rng(seed)
    want_held_out = split == "held-out"
    out, seen = [], set()
    while len(out) < n:
        for digits in _draw(rng, 2 * (n - len(out)) + 16):
            if is_held_out(digits) != want_held_out:
                continue
            if want_held_out:
                if digits in seen:
                    continue
                seen.add(digits)
            out.append(make_example(digits))
            if len(out) == n:
                break
    return out


def held_out_table():
    """Boolean array ``[10**LENGTH]``: entry ``int(digits)`` is :func:`is_held_out` of ``digits``."""
    global _HELD_OUT_TABLE
    if _HELD_OUT_TABLE is None:
        _HELD_OUT_TABLE = np.array(
            [is_held_out(f"{i:0{LENGTH}d}") for i in range(10**LENGTH)], dtype=bool
        )
    return _HELD_OUT_TABLE


def sample_train_ids(rng, n):
    """A batch of ``n`` training sequences as token ids, int64 ``[n, SEQ_LEN]``, vectorized.

    Equivalent to encoding ``prompt + target`` of training examples (never a
    held-out problem), drawn uniformly from the NumPy generator ``rng``;
    digit ``d`` has token id ``d``.
    """
    table = held_out_table()
    place = 10 ** np.arange(LENGTH - 1, -1, -1)
    rows = []
    have = 0
    while have < n:
        digits = rng.integers(0, 10, size=(n - have + n // 8 + 8, LENGTH))
        digits = digits[~table[digits @ place]][: n - have]
        rows.append(digits)
        have += len(digits)
    digits = np.concatenate(rows)
    seqs = np.empty((n, SEQ_LEN), dtype=np.int64)
    seqs[:, :LENGTH] = digits
    seqs[:, LENGTH] = _ID["="]
    seqs[:, LENGTH + 1 : 2 * LENGTH + 1] = np.sort(digits, axis=1)
    seqs[:, -1] = _ID[EOS]
    return seqs


def encode(text):
    """Token ids of ``text``, one per character (UNK for characters outside the vocabulary)."""
    return [_ID.get(ch, _ID[UNK]) for ch in text]


def decode(ids):
    """Text of token ids (inverse of :func:`encode` on vocabulary characters)."""
    return "".join(VOCAB[int(i)] for i in ids)


def encode_batch(examples):
    """Token ids of ``prompt + target`` for each example, int64 ``[B, SEQ_LEN]``."""
    return np.array([encode(ex.prompt + ex.target) for ex in examples], dtype=np.int64)


def build_tokenizer():
    """A character-level ``tokenizers.Tokenizer`` with the ids of :data:`VOCAB`.

    A BPE model without merges splits its input into single characters and
    maps each to its id (unknown ones to UNK); there is no normalizer and no
    pre-tokenizer, so nothing is stripped or lowercased, and the ``Fuse``
    decoder joins tokens without spaces, so ``decode(encode(s)) == s`` for
    every string over the vocabulary.
    """
    from tokenizers import Tokenizer, decoders, models

    tokenizer = Tokenizer(
        models.BPE(vocab={token: i for i, token in enumerate(VOCAB)}, merges=[], unk_token=UNK)
    )
    tokenizer.add_special_tokens([UNK])
    tokenizer.decoder = decoders.Fuse()
    return tokenizer


def exact_match(generate_fn, examples):
    """Fraction of ``examples`` whose generated continuation is exactly right.

    Parameters
    ----------
    generate_fn : callable
        ``generate_fn(prompts) -> completions``: takes a list of prompt
        strings and returns, for each, the text the model generated after
        it (at least ``len(answer) + 1`` characters, e.g. greedy decoding of
        ``LENGTH + 1`` tokens).
    examples : list of Example

    Returns
    -------
    float
        Fraction in ``[0, 1]`` of examples whose completion starts with
        ``answer + EOS``: every digit right and the end marked.
    """
    if not examples:
        raise ValueError("exact_match needs at least one example")
    completions = generate_fn([ex.prompt for ex in examples])
    if len(completions) != len(examples):
        raise ValueError(
            f"generate_fn returned {len(completions)} completions for {len(examples)} prompts"
        )
    hits = sum(c[: len(ex.target)] == ex.target for c, ex in zip(completions, examples))
    return hits / len(examples)
