"""golden.formats: the one table of weight formats, checked against the layouts written out by
hand (the lane positions of ``docs/numerics.md``), and golden.int8_gemm against loops."""

import numpy as np
import pytest

import golden
from golden.formats import FORMATS, TERNARY_FORMATS, weight_format


def test_table_rows():
    assert list(FORMATS) == ["i2", "t5", "int8"] and TERNARY_FORMATS == ("i2", "t5")
    assert [(f.ternary, f.weights_per_byte, f.bits_per_weight) for f in FORMATS.values()] == \
        [(True, 4, 2.0), (True, 5, 1.6), (False, 1, 8.0)]
    assert golden.WEIGHT_FORMATS == ("i2", "t5")


@pytest.mark.parametrize("lanes, i2, t5, int8", [(1, 2, 8, 8), (4, 8, 8, 32), (5, 10, 8, 40),
                                                  (6, 12, 16, 48), (64, 128, 104, 512)])
def test_word_bits(lanes, i2, t5, int8):
    assert [FORMATS[name].word_bits(lanes) for name in ("i2", "t5", "int8")] == [i2, t5, int8]


def test_words_place_lanes_as_documented():
    w = np.array([[-1, 0, 1, 1, -1, 0, 1]])            # one word of 7 lanes
    # i2: lane j is code w + 1 in bits [2j+1:2j]
    assert FORMATS["i2"].words(w) == [sum((int(v) + 1) << (2 * j) for j, v in enumerate(w[0]))]
    # t5: lane j is digit j % 5 of byte j // 5, digit = w + 1
    digits = [int(v) + 1 for v in w[0]] + [1] * 3      # zero weights pad the last byte
    t5 = sum(sum(d * 3**j for j, d in enumerate(digits[5 * b:5 * b + 5])) << (8 * b)
             for b in range(2))
    assert FORMATS["t5"].words(w) == [t5]
    # int8: lane j is the two's complement byte j
    assert FORMATS["int8"].words(np.array([[1, -2, 127, -128]])) == [0x80_7F_FE_01]


@pytest.mark.parametrize("name", list(FORMATS))
@pytest.mark.parametrize("lanes", [1, 3, 4, 5, 9, 16])
def test_words_round_trip(name, lanes):
    rng = np.random.default_rng(lanes)
    fmt = FORMATS[name]
    low, high = (-1, 2) if fmt.ternary else (-128, 128)
    w = rng.integers(low, high, size=(6, lanes))
    words = fmt.words(w)
    assert all(0 <= word < 1 << fmt.word_bits(lanes) for word in words)
    assert np.array_equal(fmt.unwords(words, lanes), w)


def test_check_weights_and_lookup_errors():
    with pytest.raises(ValueError, match=r"^weights must be ternary \(-1, 0, \+1\); found 5 at \[1\]$"):
        FORMATS["t5"].check_weights(np.array([0, 5]))
    with pytest.raises(ValueError, match=r"^weights must be int8 \(-128\.\.127\); found 300 at \[0\]$"):
        FORMATS["int8"].check_weights(np.array([300]))
    with pytest.raises(ValueError,
                       match=r"^weight format must be one of 'i2', 't5', 'int8', not 'i3'$"):
        weight_format("i3")
    assert weight_format("t5") is FORMATS["t5"]


def test_int8_gemm_against_loops():
    rng = np.random.default_rng(8)
    x = rng.integers(-128, 128, size=(3, 17))
    w = rng.integers(-128, 128, size=(4, 17))
    y = golden.int8_gemm(x, w)
    for m in range(3):
        for n in range(4):
            assert y[m, n] == sum(int(x[m, k]) * int(w[n, k]) for k in range(17))
    extreme = golden.int8_gemm(np.full((1, 1000), -128), np.full((1, 1000), -128))
    assert extreme[0, 0] == 128 * 128 * 1000
    with pytest.raises(ValueError, match=r"^weights must be int8"):
        golden.int8_gemm(x, w * 2)


def test_beats_pack_several_rows_per_word_by_hand():
    """A wide weight port's word: k consecutive rows packed as one row of k*lanes weights, the
    last word padded with zero-weight rows. i2 codes are w + 1 (2 bits, lane 0 lowest): rows
    [1, -1], [0, 1] -> codes 2, 0, 1, 2 -> 2 + 1*16 + 2*64 = 146; [-1, -1] and a zero pad row
    -> 0, 0, 1, 1 -> 16 + 64 = 80. t5: [1, 0, -1, 1, 1] -> digits 2, 1, 0, 2, 2 -> 2 + 3 + 54 +
    162 = 221, five zeros -> 1 + 3 + 9 + 27 + 81 = 121, so one word 221 + 121*256."""
    assert FORMATS["i2"].beats([[1, -1], [0, 1], [-1, -1]], 2) == [146, 80]
    assert FORMATS["t5"].beats([[1, 0, -1, 1, 1], [0, 0, 0, 0, 0]], 2) == [221 + 121 * 256]
    assert FORMATS["i2"].beats([[1, -1], [0, 1]], 1) == FORMATS["i2"].words([[1, -1], [0, 1]])
    with pytest.raises(ValueError, match=r"^rows_per_beat must be a positive integer, not 0$"):
        FORMATS["i2"].beats([[1]], 0)
    with pytest.raises(TypeError, match=r"^rows_per_beat must be an integer, not float$"):
        FORMATS["i2"].beats([[1]], 1.5)
    with pytest.raises(ValueError, match=r"^weights must be a 2-D array \[rows, lanes\]"):
        FORMATS["i2"].beats([1, 0], 1)
