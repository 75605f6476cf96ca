"""The accelerator's pipeline timing, composed from the latencies its blocks declare.

Nothing here is typed by hand: each figure is a sum of the ``latency`` / ``delay`` attributes
of the blocks on the path (maia-hdl's habit), so a block that gains a register moves the token
pipe, the accumulator's read-ahead and the cycle model with it.
:attr:`rtl.config.AccelConfig.latency` reads :func:`result_latency`; the top level
(:class:`rtl.top.TernaryAccelerator`) builds its delay lines from :func:`input_delay`,
:func:`token_delay` and :func:`token_tap`. None of these elaborates anything.
"""

from .accumulator import Accumulator
from .array import SystolicArray
from .feeder import ActivationFeeder
from .result_queue import ResultQueue
from .result_serializer import ResultSerializer
from .skew import SkewBuffer
from .weight_store import WeightStore


__all__ = ["FETCH_REGISTERS", "input_delay", "array_delay", "token_delay", "token_tap",
           "result_latency", "slot_hold"]


#: Registers between a tile's first activation row accepted and the weight store's ``fetch``
#: (the feeder's handshake reaches no memory enable combinationally).
FETCH_REGISTERS = 1


def input_delay(config):
    """Registers between the feeder and the activation skew: the fetch register plus the
    weight store's read latency, so that row ``k``'s weights of a new tile and its first
    activation reach the array in the same cycle (both then skewed by ``k``); 2."""
    return FETCH_REGISTERS + WeightStore.read_latency


def array_delay(config):
    """Cycles from the activation skew's input to the column sums: skew lane 0 and the
    array's ``rows`` (activations are broadcast along rows, so every column's sum leaves in
    the same cycle); ``rows``."""
    return SkewBuffer.skew_delays(config.rows)[0] + SystolicArray.sum_delay(config)


def slot_hold(config):
    """Cycles from a tile's first activation row accepted to the first cycle the weight store
    may take a beat into that tile's slot again: the fetch register and the store's
    :meth:`~rtl.weight_store.WeightStore.free_delay`; ``rows + 1``."""
    return FETCH_REGISTERS + WeightStore.free_delay(config)


def token_delay(config):
    """Cycles from an activation row accepted to its token and column sums meeting at the
    accumulator: the feeder, the input registers and the array path; ``rows + 2``."""
    return ActivationFeeder.latency + input_delay(config) + array_delay(config)


def token_tap(config):
    """Where the accumulator's read address leaves the token pipe: its read-ahead before the
    end."""
    tap = token_delay(config) - Accumulator.read_ahead
    assert tap >= 0, "the token pipe is shorter than the accumulator's read-ahead"
    return tap


def result_latency(config):
    """Cycles from an activation row accepted to its (first) result beat valid on
    ``results``, the result queue empty: the token delay, the accumulator's registered sum,
    the result queue and, with several beats per row, the result serializer (which cuts
    through); ``rows + 5``."""
    serializer = ResultSerializer.latency if config.result_beats_per_row > 1 else 0
    return token_delay(config) + Accumulator.latency + ResultQueue.latency + serializer
