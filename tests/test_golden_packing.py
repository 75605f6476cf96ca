"""Tests for golden.packing (i2 checkpoint, i2 lanes, t5) and golden.words.

The layouts are checked against loop-based re-statements written here from the
layout definitions, against HuggingFace's documented example, and against a
NumPy transliteration of HuggingFace's ``pack_weights`` algorithm
(``transformers`` is not a dependency).
"""

import itertools

import numpy as np
import pytest

from golden import (
    T5_MAX_BYTE,
    bytes_to_int,
    int_to_bytes,
    pack_i2,
    pack_i2_lanes,
    pack_t5,
    packed_bits,
    unpack_i2,
    unpack_i2_lanes,
    unpack_t5,
)

SEED = 0x12C5

SIZES = list(itertools.product(range(1, 14), range(1, 8)))  # (out or leading, in or L)


@pytest.fixture
def rng():
    print(f"numpy seed: {SEED:#x}")
    return np.random.default_rng(SEED)


def ternary(rng, shape):
    return rng.integers(-1, 2, size=shape, dtype=np.int8)


# --- independent re-statements of the layouts ---------------------------------------------------


def reference_pack_i2(w):
    """Byte [r, c] holds rows r + i*P (i = 0..3) as code w + 1 in bits [2i+1:2i]; pad code 1."""
    out, cols = len(w), len(w[0])
    p_rows = (out + 3) // 4
    packed = [[0] * cols for _ in range(p_rows)]
    for r in range(p_rows):
        for c in range(cols):
            for i in range(4):
                row = r + i * p_rows
                code = w[row][c] + 1 if row < out else 1
                packed[r][c] |= code << (2 * i)
    return packed


def reference_pack_lanes(row, per_byte, digit_base):
    """Weight j -> byte j // per_byte, digit j % per_byte with place value base**digit."""
    packed = [0] * (-(-len(row) // per_byte))
    for j in range(len(packed) * per_byte):
        code = row[j] + 1 if j < len(row) else 1
        packed[j // per_byte] += code * digit_base ** (j % per_byte)
    return packed


def hf_pack_weights(w):
    """NumPy transliteration of transformers' integrations/bitnet.py pack_weights."""
    out = w.shape[0]
    row_dim = (out + 3) // 4
    unpacked = (w.astype(np.int16) + 1).astype(np.uint8)
    packed = np.zeros((row_dim,) + w.shape[1:], dtype=np.uint8)
    for i in range(min(4, out // row_dim + 1)):
        start = i * row_dim
        end = min(start + row_dim, out)
        packed[: end - start] |= unpacked[start:end] << (2 * i)
    return packed


# --- i2, checkpoint layout ----------------------------------------------------------------------


@pytest.mark.parametrize("out, cols", SIZES)
def test_i2_matches_reference_and_round_trips(rng, out, cols):
    w = ternary(rng, (out, cols))
    packed = pack_i2(w)
    assert packed.dtype == np.uint8
    assert packed.shape == ((out + 3) // 4, cols)
    assert packed.tolist() == reference_pack_i2(w.tolist())
    unpacked = unpack_i2(packed, out)
    assert unpacked.dtype == np.int8
    np.testing.assert_array_equal(unpacked, w)


@pytest.mark.parametrize("out, cols", SIZES)
def test_i2_against_huggingface_algorithm(rng, out, cols):
    w = ternary(rng, (out, cols))
    ours, theirs = pack_i2(w), hf_pack_weights(w)
    if out % 4 == 0:
        np.testing.assert_array_equal(ours, theirs)
    else:
        # Only the padding rows differ: HuggingFace leaves code 0 there, we write code 1.
        p_rows = ours.shape[0]
        real = np.zeros_like(ours)
        for i in range(4):
            real[: max(0, min(p_rows, out - i * p_rows))] |= np.uint8(3 << (2 * i))
        np.testing.assert_array_equal(ours & real, theirs & real)
        assert (theirs & ~real == 0).all()
        assert (ours & ~real == (0x55 & ~real)).all()
    # Either way, what HuggingFace packed unpacks to the same weights.
    np.testing.assert_array_equal(unpack_i2(theirs, out), w)


def test_i2_huggingface_docstring_example():
    # The example in the docstring of transformers' unpack_weights.
    packed = np.array([[0b10100001, 0b00011000], [0b10010000, 0b00001010]], dtype=np.uint8)
    expected = [[0, -1], [-1, 1], [-1, 1], [-1, 1], [1, 0], [0, -1], [1, -1], [1, -1]]
    assert unpack_i2(packed, 8).tolist() == expected
    np.testing.assert_array_equal(pack_i2(np.array(expected)), packed)


def test_i2_known_bytes():
    assert pack_i2([[1], [0], [-1], [1]]).tolist() == [[0b10000110]]
    # out = 5, P = 2: byte 0 = rows 0, 2, 4, pad; byte 1 = rows 1, 3, pad, pad
    packed = pack_i2(np.array([[1], [-1], [0], [0], [1]]))
    assert packed.tolist() == [[0b01100110], [0b01010100]]
    assert hf_pack_weights(np.array([[1], [-1], [0], [0], [1]])).ravel().tolist() == [38, 4]


def test_i2_zero_rows_and_any_integer_dtype():
    assert pack_i2(np.zeros((0, 3), np.int64)).shape == (0, 3)
    assert unpack_i2(np.zeros((0, 3), np.uint8), 0).shape == (0, 3)
    w = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.uint16)
    np.testing.assert_array_equal(unpack_i2(pack_i2(w), 3), w)


def test_i2_invalid_code_names_its_position():
    packed = np.full((4, 8), 0b01010101, dtype=np.uint8)  # all zero weights
    packed[2, 7] = 0b01110101  # code 3 in bits [5:4]
    packed[3, 0] = 0b11010101  # a later code 3 in bits [7:6]
    with pytest.raises(ValueError, match=r"^invalid i2 code 3 at packed\[2, 7\] bits \[5:4\]$"):
        unpack_i2(packed, 16)


def test_i2_padding_codes():
    # out = 13, P = 4: packed row 1, lane 3 is output row 13, a padding row.
    packed = pack_i2(np.zeros((13, 2), np.int8))
    for code in (0, 2):  # valid codes in padding rows are dropped
        p = packed.copy()
        p[1, 0] = (p[1, 0] & 0b00111111) | (code << 6)
        assert not unpack_i2(p, 13).any()
    packed[1, 0] |= 0b11000000
    with pytest.raises(ValueError, match=r"^invalid i2 code 3 at packed\[1, 0\] bits \[7:6\]$"):
        unpack_i2(packed, 13)


@pytest.mark.parametrize(
    "packed, out, error, message",
    [
        (np.zeros((3, 8), np.uint8), 13, ValueError,
         r"^packed i2 weights of shape \(3, 8\) cannot hold 13 output rows; need 4 packed rows$"),
        (np.zeros((5, 8), np.uint8), 13, ValueError,
         r"^packed i2 weights of shape \(5, 8\) have 5 packed rows, but 13 output rows need exactly 4$"),
        (np.zeros(8, np.uint8), 4, ValueError,
         r"^packed i2 weights must be a 2-D array \[ceil\(out/4\), in\], got shape \(8,\)$"),
        (np.zeros((1, 8), np.int8), 4, TypeError,
         r"^packed i2 weights must be a uint8 array, got int8$"),
        (np.zeros((1, 8), np.uint8), -1, ValueError,
         r"^out_features must be a non-negative integer, not -1$"),
        (np.zeros((1, 8), np.uint8), 4.0, TypeError,
         r"^out_features must be an integer, not float$"),
        (np.zeros((1, 8), np.uint8), True, TypeError,
         r"^out_features must be an integer, not bool$"),
    ],
)
def test_unpack_i2_errors(packed, out, error, message):
    with pytest.raises(error, match=message):
        unpack_i2(packed, out)


@pytest.mark.parametrize("pack", [pack_i2, pack_i2_lanes, pack_t5])
def test_packers_reject_bad_weights(pack):
    with pytest.raises(ValueError, match=r"^weights must be ternary \(-1, 0, \+1\); found 2 at \[1, 0\]$"):
        pack(np.array([[0, 1], [2, 0]]))
    with pytest.raises(TypeError, match=r"^weights must be an integer array, got float64$"):
        pack(np.zeros((2, 2)))
    if pack is pack_i2:
        message = r"^weights must be a 2-D array \[out, in\], got shape \(3,\)$"
    else:
        message = r"^weights must have at least 1 dimension \[\.\.\., L\], got shape \(\)$"
    with pytest.raises(ValueError, match=message):
        pack(np.int8(1) if pack is not pack_i2 else np.ones(3, np.int8))


# --- i2 lanes, hardware SRAM --------------------------------------------------------------------


@pytest.mark.parametrize("lead, length", SIZES)
def test_i2_lanes_match_reference_and_round_trip(rng, lead, length):
    w = ternary(rng, (lead, length))
    packed = pack_i2_lanes(w)
    assert packed.dtype == np.uint8 and packed.shape == (lead, (length + 3) // 4)
    assert packed.tolist() == [reference_pack_lanes(row, 4, 4) for row in w.tolist()]
    np.testing.assert_array_equal(unpack_i2_lanes(packed, length), w)


@pytest.mark.parametrize("shape", [(1,), (13,), (2, 3, 9), (0, 5), (4, 0)])
def test_i2_lanes_any_leading_shape(rng, shape):
    w = ternary(rng, shape)
    packed = pack_i2_lanes(w)
    assert packed.shape == shape[:-1] + ((shape[-1] + 3) // 4,)
    np.testing.assert_array_equal(unpack_i2_lanes(packed, shape[-1]), w)


def test_i2_lanes_known_bytes_and_word_bits():
    w = [1, 0, -1, 1, -1]
    packed = pack_i2_lanes(w)
    assert packed.tolist() == [0b10000110, 0b01010100]
    word = bytes_to_int(packed)
    assert word == 0x5486
    for j in range(8):  # weight j at word bits [2j+1:2j]; padding lanes hold code 1
        assert (word >> (2 * j)) & 3 == (w[j] + 1 if j < len(w) else 1)


def test_i2_lanes_errors():
    packed = pack_i2_lanes(np.zeros((2, 12), np.int8))
    packed[1, 2] |= 0b00001100
    with pytest.raises(ValueError, match=r"^invalid i2 code 3 at packed\[1, 2\] bits \[3:2\]$"):
        unpack_i2_lanes(packed, 12)
    packed = pack_i2_lanes(np.zeros((2, 15), np.int8))
    packed[0, 3] &= 0b00111111  # lane 3 of byte 3 is weight 15: padding, now code 0
    with pytest.raises(
        ValueError,
        match=r"^i2 padding at packed\[0, 3\] bits \[7:6\] must be code 1 \(zero weight\), found code 0$",
    ):
        unpack_i2_lanes(packed, 15)
    with pytest.raises(
        ValueError, match=r"^packed i2 lanes of shape \(2, 3\) cannot hold 13 weights per row; need 4 bytes$"
    ):
        unpack_i2_lanes(np.zeros((2, 3), np.uint8), 13)
    with pytest.raises(
        ValueError, match=r"^packed i2 lanes of shape \(2, 5\) have 5 bytes, but 13 weights per row need exactly 4$"
    ):
        unpack_i2_lanes(np.zeros((2, 5), np.uint8), 13)
    with pytest.raises(
        ValueError, match=r"^packed i2 lanes must have at least 1 dimension \[\.\.\., bytes\], got shape \(\)$"
    ):
        unpack_i2_lanes(np.uint8(0), 0)
    with pytest.raises(TypeError, match=r"^packed i2 lanes must be a uint8 array, got int64$"):
        unpack_i2_lanes(np.zeros(2, np.int64), 8)


# --- t5, hardware SRAM --------------------------------------------------------------------------


@pytest.mark.parametrize("lead, length", SIZES)
def test_t5_matches_reference_and_round_trips(rng, lead, length):
    w = ternary(rng, (lead, length))
    packed = pack_t5(w)
    assert packed.dtype == np.uint8 and packed.shape == (lead, (length + 4) // 5)
    assert packed.tolist() == [reference_pack_lanes(row, 5, 3) for row in w.tolist()]
    np.testing.assert_array_equal(unpack_t5(packed, length), w)


def test_t5_known_bytes():
    # digits 2, 1, 0, 2, 0 -> 2 + 3 + 0 + 54 + 0; digits 1, 2 + padding 1, 1, 1 -> 1 + 6 + 9 + 27 + 81
    assert pack_t5([1, 0, -1, 1, -1, 0, 1]).tolist() == [59, 124]
    assert pack_t5([-1] * 5).tolist() == [0]
    assert pack_t5([1] * 5).tolist() == [T5_MAX_BYTE] == [242]
    assert pack_t5(np.zeros((2, 3, 10), np.int8)).tolist() == [[[121, 121]] * 3] * 2


def test_t5_every_byte_is_one_group_of_five():
    every = np.arange(T5_MAX_BYTE + 1, dtype=np.uint8).reshape(-1, 1)
    weights = unpack_t5(every, 5)
    assert len({tuple(row) for row in weights.tolist()}) == 243  # a bijection
    np.testing.assert_array_equal(pack_t5(weights), every)
    for value in range(T5_MAX_BYTE + 1, 256):
        with pytest.raises(ValueError, match=rf"^invalid t5 byte {value} at packed\[0\]; bytes must be <= 242$"):
            unpack_t5(np.array([value], np.uint8), 5)


def test_t5_errors():
    packed = pack_t5(np.zeros((2, 20), np.int8))
    packed[1, 3] = 250
    with pytest.raises(ValueError, match=r"^invalid t5 byte 250 at packed\[1, 3\]; bytes must be <= 242$"):
        unpack_t5(packed, 20)
    packed = pack_t5(np.zeros((1, 11), np.int8))  # byte 2 holds weight 10 and four padding digits
    packed[0, 2] -= 81  # digit 4 (weight 14, padding): 1 -> 0
    with pytest.raises(
        ValueError,
        match=r"^t5 padding at packed\[0, 2\] digit 4 must be 1 \(zero weight\), found digit 0$",
    ):
        unpack_t5(packed, 11)
    with pytest.raises(
        ValueError, match=r"^packed t5 weights of shape \(2, 2\) cannot hold 13 weights per row; need 3 bytes$"
    ):
        unpack_t5(np.zeros((2, 2), np.uint8), 13)
    with pytest.raises(
        ValueError, match=r"^packed t5 weights of shape \(2, 4\) have 4 bytes, but 13 weights per row need exactly 3$"
    ):
        unpack_t5(np.zeros((2, 4), np.uint8), 13)
    with pytest.raises(TypeError, match=r"^packed t5 weights must be a uint8 array, got int8$"):
        unpack_t5(np.zeros(2, np.int8), 10)
    with pytest.raises(TypeError, match=r"^length must be an integer, not float$"):
        unpack_t5(np.zeros(2, np.uint8), 10.0)


# --- sizes and hardware words -------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 4, 5, 6, 13, 40])
def test_packed_bits(n):
    assert packed_bits("i2", n) == 2 * n
    assert packed_bits("t5", n) == 8 * -(-n // 5)
    assert packed_bits("t5", n) == 8 * pack_t5(np.zeros(n, np.int8)).size
    assert packed_bits("i2", n) <= 8 * pack_i2_lanes(np.zeros(n, np.int8)).size < packed_bits("i2", n) + 8


@pytest.mark.parametrize(
    "fmt, n, error, message",
    [
        ("x", 3, ValueError, r"^weight format must be 'i2' or 't5', not 'x'$"),
        ("I2", 3, ValueError, r"^weight format must be 'i2' or 't5', not 'I2'$"),
        (2, 3, ValueError, r"^weight format must be 'i2' or 't5', not 2$"),
        ("i2", -1, ValueError, r"^n_weights must be a non-negative integer, not -1$"),
        ("t5", 2.5, TypeError, r"^n_weights must be an integer, not float$"),
    ],
)
def test_packed_bits_errors(fmt, n, error, message):
    with pytest.raises(error, match=message):
        packed_bits(fmt, n)


def test_words_round_trip(rng):
    for nbytes in (1, 2, 3, 8, 16, 33):
        b = rng.integers(0, 256, size=nbytes, dtype=np.uint8)
        value = bytes_to_int(b)
        assert value == sum(int(byte) << (8 * i) for i, byte in enumerate(b))
        np.testing.assert_array_equal(int_to_bytes(value, nbytes), b)
    assert int_to_bytes(0x5486, 2).tolist() == [0x86, 0x54]
    assert int_to_bytes(2**64 - 1, 8).dtype == np.uint8
    assert int_to_bytes(np.int64(7), 1).tolist() == [7]
    assert bytes_to_int(np.zeros(0, np.uint8)) == 0


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: int_to_bytes(256, 1), ValueError, r"^value 256 needs 2 bytes but nbytes is 1$"),
        (lambda: int_to_bytes(-1, 4), ValueError,
         r"^value must be a non-negative integer, not -1$"),
        (lambda: int_to_bytes(1, 0), ValueError, r"^nbytes must be a positive integer, not 0$"),
        (lambda: int_to_bytes(1.0, 4), TypeError, r"^value must be an integer, not float$"),
        (lambda: int_to_bytes(1, "4"), TypeError, r"^nbytes must be an integer, not str$"),
        (lambda: bytes_to_int(np.zeros(2, np.int64)), TypeError,
         r"^bytes must be a uint8 array, got int64$"),
        (lambda: bytes_to_int(np.zeros((2, 2), np.uint8)), ValueError,
         r"^bytes must be a 1-D array, got shape \(2, 2\)$"),
    ],
)
def test_words_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
