"""golden.memory_image: the bytes of a weight image against images worked out by hand from
docs/interface.md, against the stream words of cosim.JobLayout (the words the co-simulated
hardware multiplies correctly), the inverse, a checkpoint image, and the argument errors."""

import io
import itertools

import numpy as np
import pytest

import golden
from cosim.layout import JobLayout
from rtl.config import AccelConfig

SEED = 20261201


def test_i2_image_by_hand():
    # 2x2 array, two rows per beat: a beat is 4 weights, one byte; weight i = j*2 + c.
    # W (N=3, K=3) padded to 4x4: tiles (nt, kt) = (0,0), (0,1), (1,0), (1,1).
    w = np.array([[1, -1, 0], [0, 1, 1], [-1, 0, 1]], dtype=np.int8)
    image = golden.weight_image(w, "i2", rows=2, cols=2, rows_per_beat=2)
    # (0,0): row 0 = W[0:2, 0] = [1, 0], row 1 = W[0:2, 1] = [-1, 1] -> codes 2,1,0,2
    #        -> 2 + 1*4 + 0*16 + 2*64 = 134
    # (0,1): rows [0, 1], [0, 0] -> codes 1,2,1,1 -> 1 + 8 + 16 + 64 = 89
    # (1,0): rows [-1, 0], [0, 0] -> codes 0,1,1,1 -> 0 + 4 + 16 + 64 = 84
    # (1,1): rows [1, 0], [0, 0] -> codes 2,1,1,1 -> 2 + 4 + 16 + 64 = 86
    assert image.tobytes() == bytes([134, 89, 84, 86])
    assert image.shape == (4, 1)


def test_t5_image_by_hand():
    # 2x5 array: a row of 5 weights is one base-3 byte, digit j = lane j.
    w = np.array([[1, -1], [0, -1], [-1, -1], [1, -1], [0, -1]], dtype=np.int8)  # N=5, K=2
    # row 0 = W[:, 0] = [1, 0, -1, 1, 0] -> digits 2,1,0,2,1 -> 2 + 3 + 0 + 54 + 81 = 140
    # row 1 = W[:, 1] = all -1 -> 0
    assert golden.weight_image(w, "t5", rows=2, cols=5).tobytes() == bytes([140, 0])
    two = golden.weight_image(w, "t5", rows=2, cols=5, rows_per_beat=2)
    assert two.shape == (1, 2) and two.tobytes() == bytes([140, 0])


def test_t5_beat_spanning_rows_by_hand():
    # 2x3 array, two rows per beat: 6 weights, 2 bytes; weight i = j*3 + c, byte 1 holds
    # weight 5 (row 1, lane 2) and four zero-weight padding digits (1 each).
    w = np.array([[1, 0], [-1, 1], [0, -1]], dtype=np.int8)  # N=3, K=2: one tile
    # weights: row 0 = [1, -1, 0], row 1 = [0, 1, -1] -> digits 2,0,1,1,2 | 0 (+ 1,1,1,1)
    byte0 = 2 + 0 * 3 + 1 * 9 + 1 * 27 + 2 * 81
    byte1 = 0 + 1 * 3 + 1 * 9 + 1 * 27 + 1 * 81
    image = golden.weight_image(w, "t5", rows=2, cols=3, rows_per_beat=2)
    assert image.tobytes() == bytes([byte0, byte1])


SHAPES = [(8, 8, "i2", 1, 20, 13), (8, 8, "i2", 8, 16, 24), (4, 6, "i2", 2, 9, 11),
          (8, 8, "t5", 5, 17, 30), (8, 5, "t5", 3, 12, 12), (4, 4, "int8", 2, 7, 5),
          (6, 10, "t5", 6, 31, 13)]


@pytest.mark.parametrize("rows, cols, fmt, per_beat, n, k", SHAPES)
def test_image_is_the_stream_words_and_inverts(rows, cols, fmt, per_beat, n, k):
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    low = -128 if fmt == "int8" else -1
    w = rng.integers(low, -low if fmt == "int8" else 2, size=(n, k)).astype(np.int8)
    config = AccelConfig(rows=rows, cols=cols, weight_format=fmt,
                         weight_port_bits=golden.FORMATS[fmt].word_bits(per_beat * cols),
                         pe="int8" if fmt == "int8" else "ternary")
    assert config.rows_per_beat == per_beat
    words = JobLayout(config, 1, k, n).weight_words(w)
    image = golden.weight_image(w, fmt, rows=rows, cols=cols, rows_per_beat=per_beat)
    assert [int.from_bytes(beat.tobytes(), "little") for beat in image] == words
    back = golden.image_weights(image.tobytes(), fmt, n=n, k=k, rows=rows, cols=cols,
                                rows_per_beat=per_beat)
    np.testing.assert_array_equal(back, w)


def test_tile_order_by_hand():
    w = np.arange(1, 7).reshape(2, 3)  # N=2, K=3 on a 2x1 array: tiles (0,0) (0,1) (1,0) (1,1)
    ordered = golden.tile_order(w, 2, 1)
    np.testing.assert_array_equal(ordered.ravel(), [1, 2, 3, 0, 4, 5, 6, 0])


def test_checkpoint_image_places_every_projection_aligned():
    config = golden.BitNetConfig(vocab_size=11, hidden_size=12, intermediate_size=20,
                                 num_hidden_layers=2, num_attention_heads=2,
                                 num_key_value_heads=1, max_position_embeddings=16)
    model = golden.BitNetModel(config, golden.random_params(config, seed=3))
    file = io.BytesIO()
    entries = golden.write_checkpoint_image(model, file, "t5", rows=4, cols=5,
                                            rows_per_beat=2, alignment=64)
    data = file.getvalue()
    assert [e.name for e in entries] == golden.projection_names(config)
    assert all(e.offset % 64 == 0 for e in entries)
    for before, after in itertools.pairwise(entries):
        assert after.offset == -(-(before.offset + before.size) // 64) * 64
        assert not any(data[before.offset + before.size:after.offset])
    assert len(data) == entries[-1].offset + entries[-1].size
    for e in entries:
        wq = model.params[f"{e.name}.weight"]
        assert (e.n, e.k) == wq.shape
        # ceil(N/5) * ceil(K/4) tiles of 4 rows, two rows (10 weights, 2 bytes) per beat
        assert e.beats == -(-(-(-e.n // 5) * -(-e.k // 4) * 4) // 2) and e.size == 2 * e.beats
        back = golden.image_weights(data[e.offset:e.offset + e.size], "t5", n=e.n, k=e.k,
                                    rows=4, cols=5, rows_per_beat=2)
        np.testing.assert_array_equal(back, wq)


# In t5, byte 121 is five zero weights (digit 1 each); 121 + 81 makes lane 4 a +1.
@pytest.mark.parametrize("call, error, message", [
    (lambda: golden.weight_image(np.zeros((2, 2)), "x", rows=2, cols=2), ValueError,
     "weight format must be one of 'i2', 't5', 'int8', not 'x'"),
    (lambda: golden.weight_image(np.zeros((2, 2)), 3, rows=2, cols=2), TypeError,
     "weight format must be a name or a WeightFormat, not int"),
    (lambda: golden.weight_image(np.zeros((2, 2)), "i2", rows=2, cols=1), ValueError,
     "a beat of 1 i2 weights is 2 bits, not whole bytes: a memory image needs "
     "rows_per_beat * cols to be a multiple of 4"),
    (lambda: golden.weight_image(np.zeros((2, 2)), "i2", rows=2, cols=4, rows_per_beat=3),
     ValueError, "rows_per_beat must be at most rows (2), not 3"),
    (lambda: golden.weight_image(np.full((2, 2), 2), "t5", rows=2, cols=5), ValueError, None),
    (lambda: golden.weight_image(np.zeros(4, np.int8), "t5", rows=2, cols=5), ValueError,
     "weights must be a 2-D array [N, K], got shape (4,)"),
    (lambda: golden.weight_image(np.zeros((2, 2)), "t5", rows=2, cols=5), TypeError,
     "weights must be an integer array, got float64"),
    (lambda: golden.weight_image(np.zeros((2, 2)), "t5", rows=0, cols=5), ValueError,
     "rows must be a positive integer, not 0"),
    (lambda: golden.image_weights(b"\0", "t5", n=5, k=2, rows=2, cols=5), ValueError,
     "a 5x2 t5 image on 2x5 with 1 rows per beat is 2 bytes, not 1"),
    (lambda: golden.image_weights(bytes([121, 121 + 81]), "t5", n=4, k=2, rows=2, cols=5),
     ValueError, "the weights past N and K must be zero"),
    (lambda: golden.activation_image([[200, -300]], rows=2, beat=4), ValueError,
     "activations must fit 8-bit signed integers (-128..127)"),
    (lambda: golden.activation_image([[1.0]], rows=2, beat=4), TypeError,
     "activations must be an integer array, got float64"),
    (lambda: golden.activation_image([[1]], rows=2, beat=4, act_bits=9), ValueError,
     "act_bits must be an integer from 2 to 8, not 9"),
    (lambda: golden.image_results(bytes(4), m=1, n=4, cols=4, lanes=4, beat=4), ValueError,
     "4 lanes of 32 bits do not fit a 4-byte beat"),
    (lambda: golden.image_weights(bytes([121, 121, 121]), "t5", n=5, k=2, rows=2, cols=5,
                                  rows_per_beat=2), ValueError,
     "a 5x2 t5 image on 2x5 with 2 rows per beat is 2 bytes, not 3"),
])
def test_errors(call, error, message):
    with pytest.raises(error) as caught:
        call()
    if message is not None:
        assert str(caught.value) == message


def test_activation_image_by_hand():
    x = np.array([[1, -2, 3], [4, 5, 6]])       # M = 2, K = 3 on 2 rows: two K tiles
    image = golden.activation_image(x, rows=2, beat=4)
    assert image.tobytes() == bytes([1, 254, 0, 0,  4, 5, 0, 0,  3, 0, 0, 0,  6, 0, 0, 0])
    # 4-bit activations: lane r in bits [4r+3:4r]; -2 is 0xE
    assert golden.activation_image([[1, -2]], rows=2, beat=1, act_bits=4).tobytes() == \
        bytes([0xE1])


def test_result_image_by_hand():
    # M = 1, N = 3 on 2 columns, one 32-bit lane per 4-byte beat: beats Y00, Y01 | Y02, 0
    raw = np.array([5, -1, 7, 0], dtype="<i4").tobytes()
    y = golden.image_results(raw, m=1, n=3, cols=2, lanes=1, beat=4)
    np.testing.assert_array_equal(y, [[5, -1, 7]])
    # two lanes in an 8-byte beat, with the lane past the columns zero: 3 columns, M = 2
    raw = np.array([1, 2, 3, 0, 4, 5, 6, 0], dtype="<i4").tobytes()
    y = golden.image_results(raw, m=2, n=3, cols=3, lanes=2, beat=8)
    np.testing.assert_array_equal(y, [[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError) as caught:
        golden.image_results(raw[:-4], m=2, n=3, cols=3, lanes=2, beat=8)
    assert str(caught.value) == ("a result image of 2x3 on 3 columns with 2 lanes per 8-byte "
                                 "beat is 32 bytes, not 28")


def test_port_images_split_each_beat():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    first, second = golden.port_images(image, 2)
    np.testing.assert_array_equal(first, [[0, 1], [4, 5], [8, 9]])
    np.testing.assert_array_equal(second, [[2, 3], [6, 7], [10, 11]])
    with pytest.raises(ValueError) as caught:
        golden.port_images(image, 3)
    assert str(caught.value) == "a (3, 4) image does not split among 3 ports"
