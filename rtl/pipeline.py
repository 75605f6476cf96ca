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
from .loader import WeightLoader
from .result_queue import ResultQueue
from .result_serializer import ResultSerializer
from .skew import SkewBuffer


__all__ = ["input_delay", "array_delay", "token_delay", "token_tap", "result_latency"]


def input_delay(config):
    """Registers between the feeder and the activation skew: the weight loader's latency plus
    one. The loader starts at the earliest the cycle after the swap that empties the shadow
    weights, so with this delay its first row reaches each PE in the same cycle as that swap,
    never before (a PE takes the old shadow weight when a load and a swap coincide)."""
    return WeightLoader.latency + 1


def array_delay(config):
    """Cycles from the activation skew's input to the deskewed column sums: the same for every
    column ``n`` (skew lane 0, the array's ``rows + n``, the deskew's ``cols - 1 - n``), which is
    checked here; ``rows + cols - 1``."""
    skew = SkewBuffer.skew_delays(config.rows)
    deskew = SkewBuffer.deskew_delays(config.cols)
    delays = {skew[0] + SystolicArray.sum_delay(config, n) + deskew[n]
              for n in range(config.cols)}
    assert len(delays) == 1, f"the deskew does not realign the columns: {sorted(delays)}"
    return delays.pop()


def token_delay(config):
    """Cycles from an activation row accepted to its token and column sums meeting at the
    accumulator: the feeder, the input registers and the array path; ``rows + cols + 2``."""
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
    through); ``rows + cols + 5``."""
    serializer = ResultSerializer.latency if config.result_beats_per_row > 1 else 0
    return token_delay(config) + Accumulator.latency + ResultQueue.latency + serializer
