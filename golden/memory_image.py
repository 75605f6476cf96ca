"""Weight images: a projection's weights as the bytes an accelerator reads from memory.

An accelerator of ``rows x cols`` PEs multiplies ``Y = X @ W.T`` tile by tile, N tiles
outermost and K tiles inside; its weight port takes beats of ``k = rows_per_beat`` whole tile
rows (``docs/interface.md``, *Beat order* and *The weight port*). The **weight image** of a
projection ``W[N, K]`` is that beat sequence laid end to end in memory, so that a DMA engine or
an AXI manager reads it with plain incrementing bursts:

* the tile rows in hardware order (:func:`tile_order`): for N tile ``nt``, K tile ``kt``,
  array row ``r``, the ``cols`` weights ``W[nt*cols + c, kt*rows + r]``, ``c = 0 .. cols-1``,
  rows and lanes past ``K`` and ``N`` zero weights;
* ``k`` consecutive rows per beat, packed together by the format as one word of ``k * cols``
  weights (:attr:`golden.formats.WeightFormat.pack`: weight ``i = j*cols + c`` of a beat is
  lane ``c`` of its row ``j``), the last beat padded with zero-weight rows;
* beat ``b`` at byte offset ``b * beat_bytes``, its word little-endian: bit ``8i + j`` of the
  word is bit ``j`` of byte ``i``. A beat is ``word_bits(k * cols) / 8`` bytes, which must be a
  whole number (``i2`` needs ``k * cols`` to be a multiple of 4; ``t5`` and ``int8`` words are
  whole bytes already).

With several weight ports (a beat wider than one port), port ``p`` reads its own image: bytes
``p*B/P .. (p+1)*B/P - 1`` of every beat, end to end (:func:`port_images`).

The activations and results of a job have images too, for a top that reads and writes memory
through one data port of ``D`` bits (``docs/interface.md``): the **activation image** holds, for
each K tile ``kt`` and each row ``m``, one beat of ``D/8`` bytes whose lane ``r`` (bits
``[r*A + A-1 : r*A]``, ``A`` = the activation bits) is ``X[m, kt*rows + r]``, zero past K and
past the lanes; the hardware reads it once per N tile. The **result image** holds, for each N
tile ``nt``, each row ``m`` and each beat ``j`` of a row, one beat of ``D/8`` bytes whose lane
``l`` (bits ``[l*32 + 31 : l*32]`` for 32-bit results) is ``Y[m, nt*cols + j*L + l]``, ``L``
result lanes per beat; lanes past ``cols`` hold zero (:func:`image_results` reads it).

A checkpoint's image (:func:`write_checkpoint_image`) places the projections one after another
in execution order (:func:`golden.config.projection_names`), each starting at a multiple of
:data:`ALIGNMENT` bytes (the gaps are zero bytes), and returns where each one is.
"""

import dataclasses
import math

import numpy as np

from golden.checks import check_count
from golden.config import projection_names
from golden.formats import WeightFormat, weight_format

__all__ = ["ALIGNMENT", "ImageEntry", "tile_order", "beat_bytes", "weight_image",
           "image_weights", "port_images", "activation_image", "image_results",
           "write_checkpoint_image"]

#: Where each projection of a checkpoint image starts: a multiple of this many bytes (an AXI
#: burst never crosses a 4 KiB boundary, so an aligned image starts a burst on a page).
ALIGNMENT = 4096


def _format(fmt):
    if isinstance(fmt, WeightFormat):
        return fmt
    if not isinstance(fmt, str):
        raise TypeError(f"weight format must be a name or a WeightFormat, not "
                        f"{type(fmt).__name__}")
    return weight_format(fmt)


def _shape(rows, cols, rows_per_beat):
    rows = check_count(rows, "rows", positive=True)
    cols = check_count(cols, "cols", positive=True)
    per_beat = check_count(rows_per_beat, "rows_per_beat", positive=True)
    if per_beat > rows:
        raise ValueError(f"rows_per_beat must be at most rows ({rows}), not {per_beat}")
    return rows, cols, per_beat


def tile_order(wq, rows, cols):
    """Weights ``[N, K]`` -> the job's tile rows ``[tiles * rows, cols]`` in hardware order (N
    tiles outermost, K tiles inside, array rows ``0 .. rows-1``), zero-padded to whole tiles;
    same dtype as ``wq``."""
    wq = np.asarray(wq)
    if wq.ndim != 2:
        raise ValueError(f"weights must be a 2-D array [N, K], got shape {wq.shape}")
    rows = check_count(rows, "rows", positive=True)
    cols = check_count(cols, "cols", positive=True)
    n, k = wq.shape
    n_tiles, k_tiles = math.ceil(n / cols), math.ceil(k / rows)
    padded = np.zeros((n_tiles * cols, k_tiles * rows), dtype=wq.dtype)
    padded[:n, :k] = wq
    # [nt, cols, kt, rows] -> [nt, kt, rows, cols]: one row of cols weights per (tile, row).
    ordered = padded.reshape(n_tiles, cols, k_tiles, rows).transpose(0, 2, 3, 1)
    return ordered.reshape(-1, cols)


def beat_bytes(fmt, cols, rows_per_beat=1):
    """Bytes of one beat of ``rows_per_beat`` rows of ``cols`` weights in format ``fmt``
    (``word_bits / 8``); ``ValueError`` when the word is not whole bytes."""
    fmt = _format(fmt)
    cols = check_count(cols, "cols", positive=True)
    per_beat = check_count(rows_per_beat, "rows_per_beat", positive=True)
    bits = fmt.word_bits(per_beat * cols)
    if bits % 8:
        raise ValueError(f"a beat of {per_beat * cols} {fmt.name} weights is {bits} bits, not "
                         f"whole bytes: a memory image needs rows_per_beat * cols to be a "
                         f"multiple of {fmt.weights_per_byte}")
    return bits // 8


def weight_image(wq, fmt, *, rows, cols, rows_per_beat=1):
    """The weight image of ``wq[N, K]`` (ternary for ``i2``/``t5``, int8 for ``int8``) on a
    ``rows x cols`` array whose port carries ``rows_per_beat`` rows per beat: ``uint8
    [beats, beat_bytes]``, ``beats = ceil(tiles * rows / rows_per_beat)``; ``.tobytes()`` is
    what memory holds."""
    fmt = _format(fmt)
    rows, cols, per_beat = _shape(rows, cols, rows_per_beat)
    size = beat_bytes(fmt, cols, per_beat)
    ordered = tile_order(fmt.check_weights(wq), rows, cols)
    beats = math.ceil(ordered.shape[0] / per_beat)
    padded = np.zeros((beats * per_beat, cols), dtype=np.int8)
    padded[:ordered.shape[0]] = ordered
    image = fmt.pack(padded.reshape(beats, per_beat * cols))
    assert image.shape == (beats, size)
    return image


def image_weights(image, fmt, *, n, k, rows, cols, rows_per_beat=1):
    """Inverse of :func:`weight_image`: the bytes of an image (any bytes-like object or uint8
    array) -> int8 ``W[N, K]``. Refuses an image of the wrong size, invalid codes, and padding
    that is not zero weights."""
    fmt = _format(fmt)
    rows, cols, per_beat = _shape(rows, cols, rows_per_beat)
    n = check_count(n, "n", positive=True)
    k = check_count(k, "k", positive=True)
    size = beat_bytes(fmt, cols, per_beat)
    n_tiles, k_tiles = math.ceil(n / cols), math.ceil(k / rows)
    beats = math.ceil(n_tiles * k_tiles * rows / per_beat)
    raw = np.frombuffer(bytes(image), dtype=np.uint8)
    if raw.size != beats * size:
        raise ValueError(f"a {n}x{k} {fmt.name} image on {rows}x{cols} with {per_beat} rows "
                         f"per beat is {beats * size} bytes, not {raw.size}")
    ordered = fmt.unpack(raw.reshape(beats, size), per_beat * cols).reshape(-1, cols)
    if np.any(ordered[n_tiles * k_tiles * rows:]):
        raise ValueError("the last beat's padding rows must be zero weights")
    tiles = ordered[:n_tiles * k_tiles * rows].reshape(n_tiles, k_tiles, rows, cols)
    padded = tiles.transpose(0, 3, 1, 2).reshape(n_tiles * cols, k_tiles * rows)
    if np.any(padded[n:]) or np.any(padded[:, k:]):
        raise ValueError("the weights past N and K must be zero")
    return np.ascontiguousarray(padded[:n, :k]).astype(np.int8)


def port_images(image, ports):
    """Split a weight image (``uint8 [beats, beat_bytes]``, :func:`weight_image`) among
    ``ports`` weight ports: port ``p`` gets bytes ``p*B/P .. (p+1)*B/P - 1`` of every beat;
    returns a list of ``uint8 [beats, B/P]`` arrays."""
    image = np.asarray(image, dtype=np.uint8)
    ports = check_count(ports, "ports", positive=True)
    if image.ndim != 2 or image.shape[1] % ports:
        raise ValueError(f"a {image.shape} image does not split among {ports} ports")
    width = image.shape[1] // ports
    return [np.ascontiguousarray(image[:, p * width:(p + 1) * width]) for p in range(ports)]


def _lanes_bytes(values, bits, beat):
    """Rows of signed lanes -> ``uint8 [rows, beat]``: lane ``l`` in bits ``[l*bits ..]`` of
    each row's little-endian word, the rest zero."""
    values = np.asarray(values, dtype=np.int64)
    rows, lanes = values.shape
    if lanes * bits > 8 * beat:
        raise ValueError(f"{lanes} lanes of {bits} bits do not fit a {beat}-byte beat")
    out = np.zeros((rows, beat), dtype=np.uint8)
    if bits % 8 == 0:
        raw = values.astype(f"<i{bits // 8}").view(np.uint8).reshape(rows, -1)
        out[:, :raw.shape[1]] = raw
        return out
    mask = (1 << bits) - 1
    for row in range(rows):
        word = 0
        for lane in range(lanes):
            word |= (int(values[row, lane]) & mask) << (lane * bits)
        out[row] = np.frombuffer(word.to_bytes(beat, "little"), dtype=np.uint8)
    return out


def activation_image(xq, *, rows, beat, act_bits=8):
    """The activation image of ``xq[M, K]`` (signed ``act_bits`` integers) for an array of
    ``rows`` rows and a data port of ``beat`` bytes: ``uint8 [k_tiles * M, beat]``, K tile
    outermost, then rows ``m``; lane ``r`` of a beat is ``X[m, kt*rows + r]``."""
    act_bits = check_count(act_bits, "act_bits", positive=True)
    if not 2 <= act_bits <= 8:
        raise ValueError(f"act_bits must be an integer from 2 to 8, not {act_bits}")
    xq = np.asarray(xq)
    if xq.ndim != 2:
        raise ValueError(f"activations must be a 2-D array [M, K], got shape {xq.shape}")
    if not np.issubdtype(xq.dtype, np.integer):
        raise TypeError(f"activations must be an integer array, got {xq.dtype}")
    low, high = -(1 << (act_bits - 1)), (1 << (act_bits - 1)) - 1
    if xq.size and (xq.min() < low or xq.max() > high):
        raise ValueError(f"activations must fit {act_bits}-bit signed integers ({low}..{high})")
    rows = check_count(rows, "rows", positive=True)
    beat = check_count(beat, "beat", positive=True)
    m, k = xq.shape
    k_tiles = math.ceil(k / rows)
    padded = np.zeros((m, k_tiles * rows), dtype=np.int64)
    padded[:, :k] = xq
    lanes = padded.reshape(m, k_tiles, rows).transpose(1, 0, 2).reshape(-1, rows)
    return _lanes_bytes(lanes, act_bits, beat)


def image_results(image, *, m, n, cols, lanes, beat, acc_bits=32):
    """Read a result image (bytes) of a job with ``m`` rows and ``n`` outputs on an array of
    ``cols`` columns whose result beats carry ``lanes`` lanes of ``acc_bits`` in ``beat``
    bytes: int64 ``Y[M, N]``. Refuses an image of the wrong size."""
    m = check_count(m, "m", positive=True)
    n = check_count(n, "n", positive=True)
    cols = check_count(cols, "cols", positive=True)
    lanes = check_count(lanes, "lanes", positive=True)
    beat = check_count(beat, "beat", positive=True)
    acc_bits = check_count(acc_bits, "acc_bits", positive=True)
    if lanes * acc_bits > 8 * beat:
        raise ValueError(f"{lanes} lanes of {acc_bits} bits do not fit a {beat}-byte beat")
    n_tiles = math.ceil(n / cols)
    per_row = math.ceil(cols / lanes)
    raw = np.frombuffer(bytes(image), dtype=np.uint8)
    if raw.size != n_tiles * m * per_row * beat:
        raise ValueError(f"a result image of {m}x{n} on {cols} columns with {lanes} lanes per "
                         f"{beat}-byte beat is {n_tiles * m * per_row * beat} bytes, not "
                         f"{raw.size}")
    words = raw.reshape(-1, beat)
    values = np.empty((words.shape[0], lanes), dtype=np.int64)
    for index, row in enumerate(words):
        word = int.from_bytes(row.tobytes(), "little")
        for lane in range(lanes):
            value = (word >> (lane * acc_bits)) & ((1 << acc_bits) - 1)
            values[index, lane] = value - (1 << acc_bits) if value >> (acc_bits - 1) else value
    y = values.reshape(n_tiles, m, per_row * lanes)[:, :, :cols]
    return y.transpose(1, 0, 2).reshape(m, n_tiles * cols)[:, :n]


@dataclasses.dataclass(frozen=True)
class ImageEntry:
    """Where one projection sits in a checkpoint image: ``name`` (``model.layers.0.self_attn
    .q_proj``), ``offset`` (bytes from the image's start, a multiple of :data:`ALIGNMENT`),
    ``size`` (bytes), ``beats``, and its ``n`` x ``k`` shape (out x in features)."""
    name: str
    offset: int
    size: int
    beats: int
    n: int
    k: int


def write_checkpoint_image(model, file, fmt, *, rows, cols, rows_per_beat=1,
                           alignment=ALIGNMENT):
    """Write the weight images of every projection of ``model`` (a :class:`golden.BitNetModel`)
    to the binary ``file``, in execution order, each at a multiple of ``alignment`` bytes from
    the position where writing began; one projection is packed at a time. Returns the
    :class:`ImageEntry` of each, in order."""
    fmt = _format(fmt)
    rows, cols, per_beat = _shape(rows, cols, rows_per_beat)
    alignment = check_count(alignment, "alignment", positive=True)
    beat_bytes(fmt, cols, per_beat)
    entries, offset = [], 0
    for name in projection_names(model.config):
        wq = model.params[f"{name}.weight"]
        image = weight_image(wq, fmt, rows=rows, cols=cols, rows_per_beat=per_beat)
        start = -(-offset // alignment) * alignment
        file.write(bytes(start - offset))
        file.write(image.tobytes())
        entries.append(ImageEntry(name=name, offset=start, size=image.size,
                                  beats=image.shape[0], n=wq.shape[0], k=wq.shape[1]))
        offset = start + image.size
    return entries
