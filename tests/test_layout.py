"""JobLayout: the stream beats of a job decode back to the operands with golden's unpackers."""

import numpy as np
import pytest

import golden
from cosim.layout import JobLayout
from rtl.config import AccelConfig


@pytest.mark.parametrize("rows, cols, fmt, m, k, n", [
    (4, 3, "i2", 5, 9, 7), (3, 7, "t5", 2, 3, 7), (1, 1, "i2", 1, 1, 1), (5, 6, "t5", 3, 11, 13),
])
def test_weight_words_hold_the_tiles(rows, cols, fmt, m, k, n):
    rng = np.random.default_rng(7)
    cfg = AccelConfig(rows=rows, cols=cols, weight_format=fmt)
    w = rng.integers(-1, 2, size=(n, k))
    layout = JobLayout(cfg, m, k, n)
    words = layout.weight_words(w)
    assert len(words) == layout.weight_beats == layout.tiles * rows
    nbytes = (cfg.word_bits + 7) // 8
    per_byte = 4 if fmt == "i2" else 5
    index = 0
    for nt in range(layout.n_tiles):
        for kt in range(layout.k_tiles):
            for r in range(rows):
                word = words[index]
                index += 1
                assert word < (1 << cfg.word_bits)
                raw = golden.int_to_bytes(word, nbytes)
                if fmt == "i2" and cols % 4:
                    # The word stops at 2*cols bits; restore the zero-weight padding codes.
                    raw[-1] |= sum(1 << (2 * j) for j in range(cols % 4, 4)) & 0xFF
                lanes = (golden.unpack_i2_lanes(raw, cols) if fmt == "i2"
                         else golden.unpack_t5(raw, cols))
                for c in range(cols):
                    row, col = nt * cols + c, kt * rows + r
                    expected = w[row, col] if row < n and col < k else 0
                    assert lanes[c] == expected


def test_activation_words_and_results():
    cfg = AccelConfig(rows=3, cols=2)
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, size=(4, 7))
    layout = JobLayout(cfg, 4, 7, 5)
    words = layout.activation_words(x)
    assert len(words) == layout.activation_beats
    first_tile = words[:4]
    for m, word in enumerate(first_tile):
        lanes = [((word >> (8 * k)) & 0xFF) for k in range(3)]
        assert [v - 256 if v > 127 else v for v in lanes] == list(x[m, :3])
    per_n_tile = 4 * layout.k_tiles
    assert words == words[:per_n_tile] * layout.n_tiles   # repeated for every N tile
    y = rng.integers(-2**31, 2**31, size=(4, 5))
    padded = np.zeros((4, 6), dtype=np.int64)
    padded[:, :5] = y
    beats = []
    for nt in range(3):
        for m in range(4):
            beats.append(sum((int(padded[m, 2 * nt + c]) & 0xFFFFFFFF) << (32 * c)
                             for c in range(2)))
    assert np.array_equal(layout.results(beats), y)
    with pytest.raises(ValueError, match="expected 12 result beats, got 11"):
        layout.results(beats[:-1])


@pytest.mark.parametrize("fmt", ["i2", "t5", "int8"])
def test_weight_words_decode_with_the_format_table(fmt):
    """Every format of golden's table, int8 included, packs and unpacks a tile row."""
    rng = np.random.default_rng(11)
    pe = "int8" if fmt == "int8" else "ternary"
    cfg = AccelConfig(rows=3, cols=6, weight_format=fmt, pe=pe)
    low, high = (-128, 128) if fmt == "int8" else (-1, 2)
    w = rng.integers(low, high, size=(6, 3))
    words = JobLayout(cfg, 1, 3, 6).weight_words(w)
    assert all(0 <= word < (1 << cfg.word_bits) for word in words)
    # word r holds W[:, r]: unpack with the format's own inverse
    assert np.array_equal(cfg.format.unwords(words, 6), w.T)


def test_int8_words_are_bytes():
    cfg = AccelConfig(rows=1, cols=3, pe="int8")
    words = JobLayout(cfg, 1, 1, 3).weight_words(np.array([[-1], [2], [-128]]))
    assert words == [0xFF | (0x02 << 8) | (0x80 << 16)]


def test_int8_operands_are_checked_by_the_format():
    from cosim.driver import check_gemm_operands
    x = np.zeros((1, 2), dtype=np.int64)
    cfg = AccelConfig(rows=2, cols=2, pe="int8")
    check_gemm_operands(x, np.array([[-128, 127]]), cfg)     # int8 weights are fine
    with pytest.raises(ValueError, match=r"^weights must be int8 \(-128\.\.127\); found 128 at \[0, 1\]$"):
        check_gemm_operands(x, np.array([[0, 128]]), cfg)
    with pytest.raises(ValueError, match=r"^weights must be ternary"):
        check_gemm_operands(x, np.array([[0, 2]]), AccelConfig(rows=2, cols=2))
