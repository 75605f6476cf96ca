"""The memory system a sweep puts the accelerator on: a bandwidth and a latency, and how long
a GEMM job takes on it.

The bandwidth is given either in bytes per second (``GB/s``: a fixed memory, such as a DDR4
channel, whatever the accelerator's clock) or in bytes per accelerator cycle (a port that
runs at the accelerator's clock, so it scales with the clock, the placed Fmax included).

**The time of one job** (:meth:`MemorySystem.job_seconds`)::

    seconds = latency + max(cycles / f, bytes / bandwidth)

``cycles`` is the exact cycle model's count (sources always valid, sinks always ready), ``f``
the clock, ``bytes`` what the job moves through the memory (:func:`job_bytes`: its three
streams as the interface takes them: the weight beats, the activations again for every tile,
the results; padding included). Counting the activations through the same memory is
pessimistic for a host that re-streams them from a buffer of its own; at 2B-4T's decode they
are ``rows * T`` bytes against the weights' ``rows * cols * T / 4`` (i2), a quarter of
the weights' bytes at 16 columns, a sixteenth at 64. The array and the memory overlap within a job (the weight store is a FIFO of
tiles, the activations and results stream), so the slower of the two sets the pace. The
latency is paid **once per job**: the job's first weight beat waits for the memory's first
word; after that the stream keeps up (the controller prefetches sequential weights); jobs do
not overlap, so the next job's first word is not requested before its command starts. It is a
pessimistic model for long jobs' tails and an optimistic one for a memory that cannot stream
at full bandwidth (refresh, bank conflicts and row misses are not modelled).
"""

import dataclasses
import math


__all__ = ["MemorySystem", "PRESETS", "job_bytes"]


def _positive(name, value, *, zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        bound = "at least 0" if zero else "above 0"
        raise ValueError(f"{name} must be a finite number {bound}, not {value!r}")


@dataclasses.dataclass(frozen=True)
class MemorySystem:
    """A memory: exactly one of ``bytes_per_s`` (fixed bandwidth) and ``bytes_per_cycle``
    (bytes per accelerator cycle), and ``latency_ns`` (from a job's first request to its first
    word, paid once per job). ``name`` labels it in tables.

    Raises ``TypeError`` for a value that is not a number, ``ValueError`` for a bandwidth not
    above 0, a latency below 0, or both or neither bandwidth given.
    """

    name: str
    bytes_per_s: float | None = None
    bytes_per_cycle: float | None = None
    latency_ns: float = 0.0

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, not {self.name!r}")
        if (self.bytes_per_s is None) == (self.bytes_per_cycle is None):
            raise ValueError("give exactly one of bytes_per_s and bytes_per_cycle")
        for field in ("bytes_per_s", "bytes_per_cycle"):
            if getattr(self, field) is not None:
                _positive(field, getattr(self, field))
        _positive("latency_ns", self.latency_ns, zero=True)

    def bandwidth(self, clock_hz):
        """Bytes per second at the accelerator clock ``clock_hz``."""
        if self.bytes_per_s is not None:
            return self.bytes_per_s
        return self.bytes_per_cycle * clock_hz

    def job_seconds(self, cycles, clock_hz, moved_bytes):
        """``latency + max(cycles / clock, bytes / bandwidth)`` (the module docstring)."""
        return (self.latency_ns * 1e-9
                + max(cycles / clock_hz, moved_bytes / self.bandwidth(clock_hz)))

    def describe(self):
        """One line: the bandwidth and the latency."""
        if self.bytes_per_s is not None:
            rate = f"{self.bytes_per_s / 1e9:g} GB/s"
        else:
            rate = f"{self.bytes_per_cycle:g} bytes per accelerator cycle"
        return f"{self.name}: {rate}, {self.latency_ns:g} ns latency per job"


#: Named memories (``--memory``). A DDR4 channel is 64 bits wide, so its peak is 8 bytes per
#: transfer: 3200 MT/s -> 25.6 GB/s. The latency is an assumption, not a datasheet figure: a
#: row miss (tRP + tRCD + CL, about 14 ns each at DDR4-3200 CL22) plus a memory controller's
#: pipeline, about 100 ns from request to first word on FPGA DDR4 controllers.
PRESETS = {
    "ddr4-2400": MemorySystem("DDR4-2400 x64, one channel", bytes_per_s=19.2e9,
                              latency_ns=100.0),
    "ddr4-3200": MemorySystem("DDR4-3200 x64, one channel", bytes_per_s=25.6e9,
                              latency_ns=100.0),
}


def job_bytes(accel, m, k, n):
    """Bytes one job moves through the memory, as the stream interface takes them
    (``docs/interface.md``, padding included): the weight beats (``weight_beats(k, n)`` of
    ``word_bits``), the activations (``M`` beats of ``rows`` lanes of ``act_bits`` for every
    tile: each N tile streams them again) and the results (``M`` rows of
    ``result_beats_per_row`` beats for every N tile), each stream rounded up to whole
    bytes."""
    weights = accel.weight_beats(k, n) * accel.word_bits
    activations = accel.tiles(k, n) * m * accel.act_stream_bits
    results = math.ceil(n / accel.cols) * m * accel.result_beats_per_row \
        * accel.result_stream_bits
    return sum(math.ceil(bits / 8) for bits in (weights, activations, results))
