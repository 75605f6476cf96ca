"""Host-side job layout: how a GEMM becomes the beats of the accelerator's three streams.

The accelerator splits ``Y = X @ W.T`` into weight tiles of ``rows`` (K) x ``cols`` (N), N tiles
outermost and K tiles inside (``docs/interface.md``). This module turns NumPy arrays into the
integers carried by each stream beat, in job order, and back. Weight words are packed by
the configuration's format in golden's table (:mod:`golden.formats`); nothing here defines a
numeric format of its own.
"""

import math

import numpy as np

import golden


__all__ = ["JobLayout"]


def _lanes_to_ints(values, bits):
    """Rows of signed lane values -> one integer per row, lane 0 in the least significant bits."""
    values = np.asarray(values, dtype=np.int64)
    if bits == 8:
        raw = values.astype(np.int8).view(np.uint8)
        return [int.from_bytes(row.tobytes(), "little") for row in raw]
    if bits in (16, 32, 64):
        dtype = {16: "<i2", 32: "<i4", 64: "<i8"}[bits]
        raw = values.astype(dtype)
        return [int.from_bytes(row.tobytes(), "little") for row in raw]
    mask = (1 << bits) - 1
    out = []
    for row in values.tolist():
        word = 0
        for lane, value in enumerate(row):
            word |= (value & mask) << (lane * bits)
        out.append(word)
    return out


def _ints_to_lanes(words, lanes, bits):
    """Inverse of :func:`_lanes_to_ints`: integers -> int64 array ``[len(words), lanes]``."""
    if bits in (8, 16, 32, 64):
        dtype = {8: "<i1", 16: "<i2", 32: "<i4", 64: "<i8"}[bits]
        nbytes = lanes * bits // 8
        raw = b"".join(int(w).to_bytes(nbytes, "little") for w in words)
        return np.frombuffer(raw, dtype=dtype).reshape(len(words), lanes).astype(np.int64)
    mask = (1 << bits) - 1
    out = np.empty((len(words), lanes), dtype=np.int64)
    for i, word in enumerate(words):
        for lane in range(lanes):
            value = (int(word) >> (lane * bits)) & mask
            out[i, lane] = value - (1 << bits) if value >> (bits - 1) else value
    return out


class JobLayout:
    """The stream beats of one job ``(M, K, N)`` on an accelerator of configuration ``config``.

    Parameters
    ----------
    config : :class:`rtl.config.AccelConfig`
    m, k, n : int
        Job sizes; ``m`` at most ``config.max_m``.
    """

    def __init__(self, config, m, k, n):
        self.config = config
        self.m, self.k, self.n = m, k, n
        self.k_tiles = math.ceil(k / config.rows)
        self.n_tiles = math.ceil(n / config.cols)

    @property
    def tiles(self):
        return self.k_tiles * self.n_tiles

    @property
    def weight_beats(self):
        """``ceil(tiles * rows / rows_per_beat)``: :meth:`rtl.config.AccelConfig.weight_beats`."""
        return self.config.weight_beats(self.k, self.n)

    @property
    def activation_beats(self):
        return self.tiles * self.m

    @property
    def result_beats(self):
        """``M`` result rows per N tile, each ``config.result_beats_per_row`` beats."""
        return self.n_tiles * self.m * self.config.result_beats_per_row

    def weight_words(self, wq):
        """Weights ``W[N, K]`` (ternary, or int8 for the int8 baseline) -> the ``weights``
        stream's beats in the configuration's format (golden's table, :mod:`golden.formats`).
        The job's tile rows, in order: for each N tile, for each K tile, array rows
        ``0 .. rows-1``, row ``r`` of tile ``(nt, kt)`` holding
        ``W[nt*cols : nt*cols+cols, kt*rows + r]`` padded with zero weights (which are code
        ``01``, not all-zero bits, in ``i2``); each beat packs ``rows_per_beat`` consecutive
        rows together (:meth:`golden.formats.WeightFormat.beats`), the last beat padded with
        zero rows. The bytes of the same beats are :func:`golden.weight_image`."""
        cfg = self.config
        rows = golden.tile_order(np.asarray(wq, dtype=np.int64), cfg.rows, cfg.cols)
        return cfg.format.beats(rows, cfg.rows_per_beat)

    def activation_words(self, xq):
        """int8 ``X[M, K]`` -> activation beats: for each N tile, for each K tile, rows
        ``m = 0 .. M-1``; lane ``k`` of a beat is ``X[m, kt*rows + k]``, zero-padded."""
        cfg = self.config
        padded = np.zeros((self.m, self.k_tiles * cfg.rows), dtype=np.int64)
        padded[:, :self.k] = xq
        # [m, kt, rows] -> [kt, m, rows], then repeated for every N tile.
        tiles = padded.reshape(self.m, self.k_tiles, cfg.rows).transpose(1, 0, 2)
        once = _lanes_to_ints(tiles.reshape(-1, cfg.rows), cfg.act_bits)
        return once * self.n_tiles

    def results(self, words):
        """Result beats in stream order -> int64 ``Y[M, N]``. Beat ``j`` of a row holds its
        lanes ``j * result_lanes ..``; the last beat's lanes past ``cols`` are dropped."""
        cfg = self.config
        if len(words) != self.result_beats:
            raise ValueError(f"expected {self.result_beats} result beats, got {len(words)}")
        lanes = _ints_to_lanes(words, cfg.result_beat_lanes, cfg.acc_bits)
        lanes = lanes.reshape(-1, cfg.result_beats_per_row * cfg.result_beat_lanes)
        lanes = lanes[:, :cfg.cols]
        # [nt, m, cols] -> [m, nt * cols]
        y = lanes.reshape(self.n_tiles, self.m, cfg.cols).transpose(1, 0, 2)
        return y.reshape(self.m, self.n_tiles * cfg.cols)[:, :self.n]
