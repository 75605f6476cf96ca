"""Optional text front end: a HuggingFace ``tokenizer.json`` read with the ``tokenizers`` package.

The golden model works on token ids; :class:`Tokenizer` only turns text into ids and back for
:func:`golden.load_checkpoint` (which attaches one as ``model.tokenizer`` when the checkpoint
folder holds a ``tokenizer.json``) and for ``python -m golden.generate --prompt``. Special
tokens follow the file: for Llama 3 / BitNet b1.58 2B-4T, :meth:`Tokenizer.encode` prepends
``<|begin_of_text|>`` (id 128000) unless ``add_special_tokens=False``.
"""

import os

import numpy as np
import tokenizers

from golden.checks import as_integer_array, first_bad_index, format_index

__all__ = ["Tokenizer"]


class Tokenizer:
    """Text <-> token ids through a ``tokenizers.Tokenizer``.

    Parameters
    ----------
    backend : tokenizers.Tokenizer

    Raises
    ------
    TypeError
        ``"backend must be a tokenizers.Tokenizer, not str"``.
    """

    def __init__(self, backend):
        if not isinstance(backend, tokenizers.Tokenizer):
            raise TypeError(f"backend must be a tokenizers.Tokenizer, not {type(backend).__name__}")
        self.backend = backend

    @classmethod
    def from_file(cls, path):
        """Read a ``tokenizer.json``.

        Raises
        ------
        ValueError
            ``"<path>: not a valid tokenizer.json (<reason>)"``, also for a missing file.
        """
        path = os.fspath(path)
        try:
            backend = tokenizers.Tokenizer.from_file(path)
        except Exception as error:  # the Rust side raises plain Exception subclasses
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ValueError(f"{path}: not a valid tokenizer.json ({reason})") from None
        return cls(backend)

    @property
    def vocab_size(self):
        """Number of ids the tokenizer knows, added tokens included."""
        return self.backend.get_vocab_size(with_added_tokens=True)

    def token_to_id(self, token):
        """Id of the token string ``token``, or ``None`` when it is unknown."""
        return self.backend.token_to_id(token)

    def encode(self, text, *, add_special_tokens=True):
        """Token ids of ``text``.

        Parameters
        ----------
        text : str
        add_special_tokens : bool, keyword-only
            Apply the file's post-processor (e.g. prepend the BOS token).

        Returns
        -------
        numpy.ndarray of int64, shape [T]

        Raises
        ------
        TypeError
            ``"text must be a str, not bytes"``.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        ids = self.backend.encode(text, add_special_tokens=add_special_tokens).ids
        return np.array(ids, dtype=np.int64)

    def decode(self, ids, *, skip_special_tokens=True):
        """Text of the token ids ``ids``.

        Parameters
        ----------
        ids : array_like of integer dtype, shape [T]
            Non-negative.
        skip_special_tokens : bool, keyword-only
            Leave special tokens (BOS, EOS, ...) out of the text.

        Returns
        -------
        str

        Raises
        ------
        TypeError
            ``"token ids must be an integer array, got float64"``.
        ValueError
            ``"token ids must be a 1-D array [T], got shape (2, 2)"``,
            ``"token ids must be non-negative; found -1 at [3]"``.
        """
        arr = as_integer_array(ids, "token ids")
        if arr.ndim != 1:
            raise ValueError(f"token ids must be a 1-D array [T], got shape {arr.shape}")
        if (arr < 0).any():
            index = first_bad_index(arr < 0)
            raise ValueError(f"token ids must be non-negative; found {arr[index]} "
                             f"at {format_index(index)}")
        return self.backend.decode([int(i) for i in arr], skip_special_tokens=skip_special_tokens)

    def save(self, path):
        """Write the tokenizer as a ``tokenizer.json`` file at ``path``."""
        self.backend.save(os.fspath(path))
