"""The text task: next-character prediction on the Python standard library's own source.

Every machine that runs this project has the corpus without a download: the ``.py`` files of
the running interpreter's standard library (``sysconfig.get_paths()["stdlib"]``). Pure Python
and NumPy, no torch, so tests and benchmarks can use it.

Corpus
    The ``.py`` files under the standard library folder, in sorted order of their relative
    POSIX paths, minus what is not hand-written library source: the folders in
    :data:`EXCLUDED_DIRS` (third-party packages, the test suites, byte code, the generated
    codec tables of ``encodings``), the generated files in :data:`EXCLUDED_FILES` and the
    machine-specific ``_sysconfigdata_*.py``. Each file is read as UTF-8 (an undecodable byte
    becomes U+FFFD), with universal newlines (``\\r\\n`` and ``\\r`` become ``\\n``); a split's
    text is its files' texts concatenated in that order.

Splits
    A file is held out when the first byte of the SHA-256 of its relative path is below
    :data:`HELD_OUT_BYTES` (26/256, about a tenth of the files), like the digit sorter's
    problems: the rule depends on the path only, so training never reads a held-out file, and
    another Python version gives other files but the same rule. :meth:`Corpus.summary` records
    the version, the file counts and a SHA-256 of each split's text.

Vocabulary
    One token per character (:data:`VOCAB`, 98 tokens): tab and newline (ids 0 and 1), the 95
    printable ASCII characters ``' '`` to ``'~'`` (ids 2-96), and :data:`UNK` (id 97), which
    stands for any other character (2 in 100,000 characters of Python 3.11's corpus: non-ASCII
    letters in comments and strings, form feeds). :func:`build_tokenizer` writes the same
    mapping as a HuggingFace ``tokenizers`` tokenizer; :func:`encode` and :func:`decode` do it
    without that package.

Windows
    The model reads :data:`CONTEXT` characters and is scored on the next character at every
    position, so a window is ``CONTEXT + 1`` consecutive tokens of a split's text (it may run
    across a file boundary). Training draws windows at uniform random offsets of the train
    text; :func:`eval_windows` fixes the held-out windows from a seed. Per-character
    perplexity is ``exp`` of the mean negative log-likelihood of the next token over every
    position of every window (:func:`mean_nll`); a model that predicts the uniform
    distribution scores exactly ``len(VOCAB)``.
"""

import functools
import hashlib
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    # constants
    "NAME",
    "UNK",
    "EOS",
    "VOCAB",
    "CONTEXT",
    "HELD_OUT_BYTES",
    "EXCLUDED_DIRS",
    "EXCLUDED_FILES",
    "EVAL_SEED",
    "EVAL_WINDOWS",
    # corpus
    "stdlib_root",
    "source_files",
    "is_held_out",
    "read_source",
    "Corpus",
    "load_corpus",
    # tokens
    "encode",
    "decode",
    "build_tokenizer",
    # windows and scores
    "sample_windows",
    "eval_windows",
    "mean_nll",
]

#: Name of the task, also the checkpoint folder ``models/<NAME>``.
NAME = "python-stdlib"
#: Stands for any character outside the vocabulary.
UNK = "<unk>"
#: The ``eos_token_id`` of the checkpoint: a newline, so ``--stop-at-eos`` ends at a line end.
EOS = "\n"
#: Tokens in id order: tab, newline, printable ASCII, UNK.
VOCAB = ("\t", "\n") + tuple(chr(c) for c in range(0x20, 0x7F)) + (UNK,)
#: Characters the model reads (its max_position_embeddings); a window is CONTEXT + 1 tokens.
CONTEXT = 128
#: Files whose relative path's SHA-256 starts with a byte below this are held out (26/256).
HELD_OUT_BYTES = 26
#: Folders left out wherever they are: third-party packages, test suites, byte code, and
#: ``encodings`` (mostly generated character-map tables).
EXCLUDED_DIRS = frozenset(
    {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__", "encodings"}
)
#: Generated files left out: the help topics (one 750 KB string of prose).
EXCLUDED_FILES = frozenset({"pydoc_data/topics.py"})

#: Seed of the fixed held-out windows that training reports and the benchmark and tests score.
EVAL_SEED = 20261201
#: Held-out windows of the training report and the benchmark.
EVAL_WINDOWS = 32

_ID = {token: i for i, token in enumerate(VOCAB)}
_UNK_ID = _ID[UNK]
# Token id of every code point below 128 (the rest are UNK).
_ASCII_IDS = np.full(128, _UNK_ID, dtype=np.int64)
for _token, _index in _ID.items():
    if len(_token) == 1:
        _ASCII_IDS[ord(_token)] = _index


def stdlib_root():
    """The running interpreter's standard library folder (``sysconfig``'s ``stdlib`` path)."""
    return Path(sysconfig.get_paths()["stdlib"])


def _excluded(relative):
    parts = relative.split("/")
    return (
        any(part in EXCLUDED_DIRS for part in parts[:-1])
        or relative in EXCLUDED_FILES
        or parts[-1].startswith("_sysconfigdata_")
    )


def source_files(root=None):
    """Relative POSIX paths of the corpus's ``.py`` files under ``root`` (default: the
    standard library), sorted. Raises ``ValueError`` if ``root`` is not a folder or holds
    none."""
    root = stdlib_root() if root is None else Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    files = sorted(
        relative
        for relative in (p.relative_to(root).as_posix() for p in root.rglob("*.py") if p.is_file())
        if not _excluded(relative)
    )
    if not files:
        raise ValueError(f"{root} holds no .py files outside the excluded folders")
    return files


def is_held_out(relative):
    """Whether the file at ``relative`` (a POSIX path) belongs to the held-out split."""
    return hashlib.sha256(relative.encode("utf-8")).digest()[0] < HELD_OUT_BYTES


def read_source(path):
    """A source file's text: UTF-8 with U+FFFD for bad bytes, universal newlines."""
    text = Path(path).read_bytes().decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class Corpus:
    """Both splits of the corpus under ``root``.

    Attributes
    ----------
    root : Path
    train_files, held_out_files : tuple of str, relative POSIX paths in corpus order
    train_text, held_out_text : str, each split's files concatenated
    """

    root: Path
    train_files: tuple
    held_out_files: tuple
    train_text: str
    held_out_text: str

    @functools.cached_property
    def train_ids(self):
        """Token ids of the train text, int64 ``[len(train_text)]``."""
        return encode(self.train_text)

    @functools.cached_property
    def held_out_ids(self):
        """Token ids of the held-out text, int64 ``[len(held_out_text)]``."""
        return encode(self.held_out_text)

    def summary(self):
        """What identifies the corpus: Python version, folder, file and character counts, the
        SHA-256 of each split's text (UTF-8), and the fraction of UNK tokens."""
        ids = (self.train_ids, self.held_out_ids)
        return {
            "python": sys.version.split()[0],
            "stdlib": str(self.root),
            "train_files": len(self.train_files),
            "held_out_files": len(self.held_out_files),
            "train_chars": len(self.train_text),
            "held_out_chars": len(self.held_out_text),
            "train_sha256": hashlib.sha256(self.train_text.encode("utf-8")).hexdigest(),
            "held_out_sha256": hashlib.sha256(self.held_out_text.encode("utf-8")).hexdigest(),
            "unk_fraction": round(
                float(sum((i == _UNK_ID).sum() for i in ids) / sum(len(i) for i in ids)), 6
            ),
        }


@functools.lru_cache(maxsize=2)
def _load(root):
    files = source_files(root)
    train = tuple(f for f in files if not is_held_out(f))
    held_out = tuple(f for f in files if is_held_out(f))
    if not train or not held_out:
        raise ValueError(f"{root}: both splits need at least one file")
    text = {f: read_source(root / f) for f in files}
    return Corpus(
        root=root,
        train_files=train,
        held_out_files=held_out,
        train_text="".join(text[f] for f in train),
        held_out_text="".join(text[f] for f in held_out),
    )


def load_corpus(root=None):
    """The :class:`Corpus` of ``root`` (default: the running interpreter's standard library),
    read once per process."""
    return _load(stdlib_root() if root is None else Path(root).resolve())


def encode(text):
    """Token ids of ``text``, one per character (UNK outside the vocabulary), int64 ``[n]``."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    ids = np.full(codes.shape, _UNK_ID, dtype=np.int64)
    ascii_ = codes < 128
    ids[ascii_] = _ASCII_IDS[codes[ascii_]]
    return ids


def decode(ids):
    """Text of token ids (UNK decodes as ``"<unk>"``); inverse of :func:`encode` on text over
    the vocabulary."""
    return "".join(VOCAB[int(i)] for i in ids)


def build_tokenizer():
    """A character-level ``tokenizers.Tokenizer`` with the ids of :data:`VOCAB`.

    As the digit sorter's: a BPE model without merges (one token per character, any other
    character UNK), no normalizer or pre-tokenizer (spaces, tabs and newlines are tokens like
    any other) and the ``Fuse`` decoder, so ``decode(encode(s)) == s`` for every string over
    the vocabulary.
    """
    from tokenizers import Tokenizer, decoders, models

    tokenizer = Tokenizer(models.BPE(vocab=dict(_ID), merges=[], unk_token=UNK))
    tokenizer.add_special_tokens([UNK])
    tokenizer.decoder = decoders.Fuse()
    return tokenizer


def sample_windows(ids, rng, n, length=CONTEXT + 1):
    """``n`` windows of ``length`` consecutive tokens of ``ids`` at offsets drawn uniformly by
    the NumPy generator ``rng``, int64 ``[n, length]``."""
    ids = np.asarray(ids)
    if len(ids) < length:
        raise ValueError(f"the text has {len(ids)} tokens, fewer than a window of {length}")
    starts = rng.integers(0, len(ids) - length + 1, size=n)
    return ids[starts[:, None] + np.arange(length)]


def eval_windows(ids, n=EVAL_WINDOWS, length=CONTEXT + 1, seed=EVAL_SEED):
    """The fixed held-out windows: :func:`sample_windows` with a generator seeded by ``seed``."""
    return sample_windows(ids, np.random.default_rng(seed), n, length)


def mean_nll(logits, targets):
    """Mean negative log-likelihood (nats) of ``targets`` under ``logits``, in float64.

    ``logits`` is float ``[..., vocab]`` and ``targets`` integer ``[...]``; the per-character
    perplexity is ``exp`` of the result.
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=-1))
    picked = np.take_along_axis(z, np.asarray(targets)[..., None], axis=-1)[..., 0]
    return float((log_norm - picked).mean())
