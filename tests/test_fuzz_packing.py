"""Property tests (Hypothesis) of golden's packers and unpackers.

Every packed layout is compared with a reference written here weight by weight in plain
Python from the layouts' definitions (``golden/packing.py``, ``golden/formats.py``): round
trips for all shapes (empty ones included), then random bytes and words, where every invalid
code (i2 code 3, a t5 byte above 242, padding that is not a zero weight, a word wider than
its format) must be refused with a ``ValueError`` naming the first bad position in row-major
order, exactly as the reference finds it. Example counts: ``tests/fuzzing.py`` profiles.
"""

import itertools

import numpy as np
import pytest
from hypothesis import example, given, strategies as st
from hypothesis.extra import numpy as hnp

from fuzzing import examples
from golden import (FORMATS, bytes_to_int, int_to_bytes, pack_i2, pack_i2_lanes, pack_t5,
                    unpack_i2, unpack_i2_lanes, unpack_t5)

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint64]


def ternary(shape):
    """Ternary arrays of ``shape`` in a random integer dtype (unsigned ones hold 0 and 1)."""
    def of(dtype):
        values = [0, 1] if np.dtype(dtype).kind == "u" else [-1, 0, 1]
        return hnp.arrays(dtype, shape, elements=st.sampled_from(values))
    return st.sampled_from(INT_DTYPES).flatmap(of)


shapes_2d = hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=11)
shapes_nd = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=9)


def index_text(index):
    return "[" + ", ".join(map(str, index)) + "]"


# --- reference layouts, one weight at a time ----------------------------------------------------

def ref_pack_i2(w):
    out, cols = w.shape
    rows = -(-out // 4)
    packed = np.zeros((rows, cols), np.uint8)
    for r, c, i in itertools.product(range(rows), range(cols), range(4)):
        code = int(w[r + i * rows, c]) + 1 if r + i * rows < out else 1
        packed[r, c] |= code << (2 * i)
    return packed


def ref_lanes(w, per_byte, place):
    """Pack the last axis: byte b of a row = sum_j code(5b+j or 4b+j) * place**j."""
    lead, n = w.shape[:-1], w.shape[-1]
    nbytes = -(-n // per_byte)
    packed = np.zeros(lead + (nbytes,), np.uint8)
    for index in np.ndindex(*lead, nbytes):
        *row, b = index
        value = 0
        for j in range(per_byte):
            k = b * per_byte + j
            code = int(w[tuple(row) + (k,)]) + 1 if k < n else 1
            value += code * place**j
        packed[index] = value
    return packed


def ref_unpack_lanes(packed, n, per_byte, place, fmt):
    """Decode one code at a time; return the weights or the first error message."""
    lead = packed.shape[:-1]
    digits = np.zeros(packed.shape + (per_byte,), np.int64)
    for index in np.ndindex(*packed.shape):
        byte = int(packed[index])
        if fmt == "t5" and byte > 242:
            return f"invalid t5 byte {byte} at packed{index_text(index)}; bytes must be <= 242"
        for j in range(per_byte):
            digits[index + (j,)] = byte // place**j % place
            if fmt == "i2" and digits[index + (j,)] == 3:
                return (f"invalid i2 code 3 at packed{index_text(index)} "
                        f"bits [{2 * j + 1}:{2 * j}]")
    weights = np.zeros(lead + (n,), np.int8)
    for row in np.ndindex(*lead):
        for k in range(packed.shape[-1] * per_byte):
            b, j = divmod(k, per_byte)
            digit = int(digits[row + (b, j)])
            if k < n:
                weights[row + (k,)] = digit - 1
            elif digit != 1:
                where = f"packed{index_text(row + (b,))}"
                if fmt == "i2":
                    return (f"i2 padding at {where} bits [{2 * j + 1}:{2 * j}] must be code 1 "
                            f"(zero weight), found code {digit}")
                return (f"t5 padding at {where} digit {j} must be 1 (zero weight), "
                        f"found digit {digit}")
    return weights


def ref_word(w_row, fmt):
    """The word integer of one row of weights, lane by lane."""
    if fmt == "i2":
        return sum((int(w) + 1) << (2 * j) for j, w in enumerate(w_row))
    if fmt == "int8":
        return sum((int(w) & 0xFF) << (8 * j) for j, w in enumerate(w_row))
    word = 0
    for j, w in enumerate(list(w_row) + [0] * (-len(w_row) % 5)):
        word += (int(w) + 1) * 3 ** (j % 5) << (8 * (j // 5))
    return word


def word_bits(fmt, lanes):
    return {"i2": 2 * lanes, "t5": 8 * -(-lanes // 5), "int8": 8 * lanes}[fmt]


def check_unpack(unpack, packed, n, expected):
    if isinstance(expected, str):
        with pytest.raises(ValueError) as info:
            unpack(packed, n)
        assert str(info.value) == expected
    else:
        got = unpack(packed, n)
        assert got.dtype == np.int8 and np.array_equal(got, expected)


# --- every packer refuses a weight that is not ternary, at its first position ----------------------

@examples(150)
@given(st.data(), shapes_2d, st.sampled_from([np.int8, np.int32, np.int64, np.uint8]))
def test_packers_refuse_non_ternary(data, shape, dtype):
    info = np.iinfo(dtype)
    w = data.draw(hnp.arrays(dtype, shape, elements=st.one_of(
        st.sampled_from([v for v in (-1, 0, 1) if info.min <= v]),
        st.integers(int(info.min), int(info.max)))))
    bad = [index for index in np.ndindex(*shape) if int(w[index]) not in (-1, 0, 1)]
    for pack in (pack_i2, pack_i2_lanes, pack_t5):
        if not bad:
            pack(w)
            continue
        with pytest.raises(ValueError) as error:
            pack(w)
        assert str(error.value) == (f"weights must be ternary (-1, 0, +1); found "
                                    f"{int(w[bad[0]])} at {index_text(bad[0])}")


# --- i2, HuggingFace checkpoint layout ----------------------------------------------------------

@examples(150)
@given(st.data(), shapes_2d)
def test_i2_checkpoint_round_trip(data, shape):
    w = data.draw(ternary(shape))
    packed = pack_i2(w)
    assert packed.dtype == np.uint8 and np.array_equal(packed, ref_pack_i2(w))
    assert np.array_equal(unpack_i2(packed, shape[0]), w)


@examples(150)
@given(st.data(), st.integers(0, 13), st.integers(0, 6))
@example(None, 13, 8)   # the docstring's case: a code 3 in a padding row is refused too
def test_i2_checkpoint_random_bytes(data, out, cols):
    rows = -(-out // 4)
    if data is None:
        packed = np.full((rows, cols), 0b01010101, np.uint8)
        packed[1, 7] = 0b11010101
    else:
        packed = data.draw(hnp.arrays(np.uint8, (rows, cols)))
    expected = None
    for r, c, i in itertools.product(range(rows), range(cols), range(4)):
        if (int(packed[r, c]) >> (2 * i)) & 3 == 3:
            expected = f"invalid i2 code 3 at packed[{r}, {c}] bits [{2 * i + 1}:{2 * i}]"
            break
    if expected is None:   # padding rows may hold any valid code and are dropped
        expected = np.array([[(int(packed[k % rows, c]) >> (2 * (k // rows)) & 3) - 1
                              for c in range(cols)] for k in range(out)],
                            np.int8).reshape(out, cols)
    check_unpack(unpack_i2, packed, out, expected)


# --- i2 lanes and t5, the hardware layouts ------------------------------------------------------

LANES = {"i2": (pack_i2_lanes, unpack_i2_lanes, 4, 4), "t5": (pack_t5, unpack_t5, 5, 3)}


@examples(150)
@pytest.mark.parametrize("fmt", LANES)
@given(data=st.data(), shape=shapes_nd)
def test_lanes_round_trip(fmt, data, shape):
    pack, unpack, per_byte, place = LANES[fmt]
    w = data.draw(ternary(shape))
    packed = pack(w)
    assert packed.dtype == np.uint8 and np.array_equal(packed, ref_lanes(w, per_byte, place))
    assert np.array_equal(unpack(packed, shape[-1]), w)
    assert FORMATS[fmt].pack is pack and FORMATS[fmt].unpack is unpack


@examples(200)
@pytest.mark.parametrize("fmt", LANES)
@given(data=st.data(), lead=hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4),
       n=st.integers(0, 17))
def test_lanes_random_bytes(fmt, data, lead, n):
    """Random bytes, biased towards valid ones so that padding errors and successes occur."""
    _, unpack, per_byte, place = LANES[fmt]
    shape = lead + (-(-n // per_byte),)
    valid = st.integers(0, 242) if fmt == "t5" else st.sampled_from(
        [sum(c << 2 * j for j, c in enumerate(codes))
         for codes in itertools.product(range(3), repeat=4)])
    packed = data.draw(hnp.arrays(np.uint8, shape, elements=st.one_of(valid, valid, valid,
                                                                       st.integers(0, 255))))
    check_unpack(unpack, packed, n, ref_unpack_lanes(packed, n, per_byte, place, fmt))


@pytest.mark.parametrize("fmt, packed, n, message", [
    ("i2", [[0x55, 0x55], [0x55, 0x15]], 7,
     "i2 padding at packed[1, 1] bits [7:6] must be code 1 (zero weight), found code 0"),
    ("i2", [[0x55, 0xD5]], 7, "invalid i2 code 3 at packed[0, 1] bits [7:6]"),
    ("t5", [[121, 243]], 6, "invalid t5 byte 243 at packed[0, 1]; bytes must be <= 242"),
    ("t5", [[121, 121], [121, 118]], 6,
     "t5 padding at packed[1, 1] digit 1 must be 1 (zero weight), found digit 0"),
])
def test_lanes_hand_written_errors(fmt, packed, n, message):
    with pytest.raises(ValueError) as info:
        LANES[fmt][1](np.array(packed, np.uint8), n)
    assert str(info.value) == message


# --- FORMATS words: one array row per hardware word ----------------------------------------------

@examples(150)
@pytest.mark.parametrize("fmt", list(FORMATS))
@given(data=st.data(), count=st.integers(0, 5), lanes=st.integers(1, 21))
def test_words_round_trip(fmt, data, count, lanes):
    values = [-1, 0, 1] if FORMATS[fmt].ternary else list(range(-128, 128))
    w = data.draw(hnp.arrays(np.int16, (count, lanes), elements=st.sampled_from(values)))
    words = FORMATS[fmt].words(w)
    assert words == [ref_word(row, fmt) for row in w]
    assert all(0 <= word < 1 << word_bits(fmt, lanes) for word in words)
    assert FORMATS[fmt].word_bits(lanes) == word_bits(fmt, lanes)
    back = FORMATS[fmt].unwords(words, lanes)
    assert back.dtype == np.int8 and np.array_equal(back, w)


def ref_unwords(words, lanes, fmt):
    """Weights of ``words``, or the first error message (words checked first, in order)."""
    bits = word_bits(fmt, lanes)
    for i, word in enumerate(words):
        if not 0 <= word < 1 << bits:
            return f"word {word} at [{i}] does not fit in {bits} bits ({fmt}, lanes={lanes})"
    if fmt == "int8":
        return np.array([[(word >> 8 * j & 0xFF) - ((word >> 8 * j & 0x80) << 1)
                          for j in range(lanes)] for word in words], np.int8).reshape(-1, lanes)
    per_byte, place = (4, 4) if fmt == "i2" else (5, 3)
    nbytes = -(-lanes // per_byte)
    if fmt == "i2":   # the word stops at bit 2 * lanes: the rest of its last byte is padding
        words = [word | sum(1 << 2 * j for j in range(lanes, 4 * nbytes)) for word in words]
    packed = np.array([[word >> 8 * b & 0xFF for b in range(nbytes)] for word in words],
                      np.uint8).reshape(len(words), nbytes)
    return ref_unpack_lanes(packed, lanes, per_byte, place, fmt)


@examples(200)
@pytest.mark.parametrize("fmt", list(FORMATS))
@given(data=st.data(), lanes=st.integers(1, 13))
def test_unwords_random_words(fmt, data, lanes):
    """Random words, a few beyond the format's width or negative: each is refused by
    position, never wrapped, truncated or merged with the padding."""
    bits = word_bits(fmt, lanes)
    words = data.draw(st.lists(st.one_of(st.integers(0, (1 << bits) - 1),
                                         st.integers(-(1 << bits), (1 << bits + 9))),
                               max_size=4))
    check_unpack(FORMATS[fmt].unwords, words, lanes, ref_unwords(words, lanes, fmt))


@pytest.mark.parametrize("fmt, words, lanes, error, message", [
    # found by test_unwords_random_words: the first two were accepted as [[0]] (the bits
    # beyond the word merged into the padding), the next three raised OverflowError, the
    # float was truncated
    ("i2", [0b0101], 1, ValueError, "word 5 at [0] does not fit in 2 bits (i2, lanes=1)"),
    ("i2", [0, 1 << 8], 3, ValueError, "word 256 at [1] does not fit in 6 bits (i2, lanes=3)"),
    ("i2", [-1], 4, ValueError, "word -1 at [0] does not fit in 8 bits (i2, lanes=4)"),
    ("t5", [121, 256], 1, ValueError, "word 256 at [1] does not fit in 8 bits (t5, lanes=1)"),
    ("int8", [1 << 16], 2, ValueError,
     "word 65536 at [0] does not fit in 16 bits (int8, lanes=2)"),
    ("i2", [1.9], 1, TypeError, "word 1.9 at [0] must be an integer, not float"),
    ("t5", [True], 4, TypeError, "word True at [0] must be an integer, not bool"),
    ("i2", [1], 0, ValueError, "lanes must be a positive integer, not 0"),
    ("int8", [1], 2.0, TypeError, "lanes must be an integer, not float"),
])
def test_unwords_refuses_bad_words(fmt, words, lanes, error, message):
    with pytest.raises(error) as info:
        FORMATS[fmt].unwords(words, lanes)
    assert str(info.value) == message


# --- bytes and word integers --------------------------------------------------------------------

@examples(150)
@given(st.binary(max_size=40))
def test_bytes_int_round_trip(raw):
    value = sum(byte << 8 * i for i, byte in enumerate(raw))
    arr = np.frombuffer(raw, np.uint8)
    assert bytes_to_int(arr) == value
    if raw:
        assert int_to_bytes(value, len(raw)).tobytes() == raw
    need = max(1, -(-value.bit_length() // 8))
    for nbytes in (need - 1, need):
        if nbytes < 1:
            continue
        if nbytes < need:
            with pytest.raises(ValueError) as info:
                int_to_bytes(value, nbytes)
            assert str(info.value) == f"value {value} needs {need} bytes but nbytes is {nbytes}"
        else:
            assert bytes_to_int(int_to_bytes(value, nbytes)) == value
