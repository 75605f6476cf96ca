"""Transaction-level cocotb driver of the generated accelerator.

``await AccelDriver(dut, config).gemm(x, w)`` packs the weights with golden's packer, tiles the
job over the array, streams every beat through the real valid/ready interfaces and returns the
int32 result with the exact cycle count.
"""

import dataclasses
import itertools
import math

import numpy as np

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

import golden

from rtl.command import command_layout

from .layout import JobLayout


__all__ = ["AccelDriver", "GemmResult", "check_gemm_operands", "result_dtype", "always",
           "random_pattern"]


@dataclasses.dataclass(frozen=True)
class GemmResult:
    """The result of one GEMM on the accelerator.

    Attributes
    ----------
    y : ndarray of int32 (int64 when ``acc_bits`` exceeds 32), ``[M, N]``
    cycles : int
        Every clock cycle of the work, from the first input beat accepted to the last result
        beat accepted, weight loading included (summed over jobs when M exceeds ``max_m``).
    utilization : float
        Useful MACs over PE-cycles, ``M*K*N / (rows * cols * cycles)``.
    jobs : int
        Hardware jobs the GEMM was split into (``ceil(M / max_m)``).
    """
    y: np.ndarray
    cycles: int
    utilization: float
    jobs: int = 1


def result_dtype(config):
    """The NumPy type of results: int32, or int64 when ``config.acc_bits`` exceeds 32."""
    return np.int32 if config.acc_bits <= 32 else np.int64


def always():
    """A handshake pattern that is always asserted."""
    return itertools.repeat(True)


def random_pattern(rng, probability):
    """A seeded pattern asserted with ``probability`` on each cycle."""
    while True:
        yield bool(rng.random() < probability)


def check_gemm_operands(x, w, config):
    """Validate ``x`` (int8 ``[M, K]``) and ``w`` (``[N, K]``, ternary, or int8 for the int8
    baseline: whatever ``config.format`` holds) against ``config``; return them as int64
    arrays. Raises ``ValueError``/``TypeError`` with golden's messages."""
    x = golden.check_int8(x, "activations")
    w = config.format.check_weights(w, "weights")
    if x.ndim != 2:
        raise ValueError(f"activations must be a 2-D array [M, K], got shape {x.shape}")
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D array [N, K], got shape {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"K mismatch: activations have K={x.shape[1]} but weights have "
                         f"K={w.shape[1]}")
    m, k = x.shape
    n = w.shape[0]
    if m == 0 or k == 0 or n == 0:
        raise ValueError(f"M, K and N must be at least 1, got M={m}, K={k}, N={n}")
    lo = -(1 << (config.act_bits - 1))
    hi = (1 << (config.act_bits - 1)) - 1
    if x.min() < lo or x.max() > hi:
        raise ValueError(f"activations must fit {config.act_bits}-bit signed integers "
                         f"({lo}..{hi})")
    if k > config.max_k:
        raise ValueError(f"K={k} exceeds the accelerator's max_k={config.max_k}")
    if n > config.max_n:
        raise ValueError(f"N={n} exceeds the accelerator's max_n={config.max_n}")
    return np.asarray(x, dtype=np.int64), np.asarray(w, dtype=np.int64)


class AccelDriver:
    """Drives one accelerator instance (a cocotb handle to the generated top level).

    Parameters
    ----------
    dut : cocotb handle
        The top level, with ``clk`` already toggled by a ``Clock``.
    config : :class:`rtl.config.AccelConfig`
        The configuration the design was generated from.
    """

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self.clk = dut.clk
        self._w_valid, self._w_data, self._w_ready = (
            dut.weights__valid, dut.weights__payload, dut.weights__ready)
        self._a_valid, self._a_data, self._a_ready = (
            dut.activations__valid, dut.activations__payload, dut.activations__ready)
        self._r_valid, self._r_data, self._r_ready = (
            dut.results__valid, dut.results__payload, dut.results__ready)

    async def reset(self, cycles=2):
        """Hold ``rst`` for ``cycles`` clock cycles with every input idle."""
        dut = self.dut
        for signal in (dut.cmd__valid, self._w_valid, self._a_valid, self._r_ready):
            signal.value = 0
        dut.rst.value = 1
        for _ in range(cycles):
            await RisingEdge(self.clk)
        dut.rst.value = 0
        await RisingEdge(self.clk)

    async def gemm(self, x, w, *, weight_pattern=None, activation_pattern=None,
                   result_pattern=None, max_cycles=None):
        """``Y = X @ W.T`` on the hardware.

        ``x`` is int8 ``[M, K]``, ``w`` ternary ``[N, K]`` (int8 for the int8 baseline). M is split into jobs of at most
        ``max_m`` rows. The optional patterns are iterators of booleans: a source offers a beat
        only on cycles where its pattern is true (idle cycles), the result sink is ready only
        where its pattern is true (backpressure). Returns :class:`GemmResult`.
        """
        cfg = self.config
        x, w = check_gemm_operands(x, w, cfg)
        m_total, k = x.shape
        n = w.shape[0]
        outputs = []
        cycles = 0
        jobs = 0
        for m0 in range(0, m_total, cfg.max_m):
            rows = x[m0:m0 + cfg.max_m]
            y, job_cycles = await self.run_job(
                rows, w, weight_pattern=weight_pattern, activation_pattern=activation_pattern,
                result_pattern=result_pattern, max_cycles=max_cycles)
            outputs.append(y)
            cycles += job_cycles
            jobs += 1
        y = np.concatenate(outputs).astype(result_dtype(cfg))
        return GemmResult(y=y, cycles=cycles,
                          utilization=cfg.utilization(m_total, k, n, cycles), jobs=jobs)

    #: Cycles :meth:`start_job` waits for ``cmd.ready`` before it fails (a job that never
    #: ends would otherwise hang the bench until its timeout).
    COMMAND_WAIT_LIMIT = 100_000

    async def start_job(self, m, k, n):
        """Offer the command of one job on ``cmd`` and hold it until it is accepted (``cmd.ready``
        is ``~busy``); returns after the clock edge that took it. ``RuntimeError`` if
        ``cmd.ready`` stays low for :attr:`COMMAND_WAIT_LIMIT` cycles."""
        dut = self.dut
        fields = dict(command_layout(self.config))
        dut.cmd__payload.value = sum(value << fields[name].offset
                                     for name, value in (("m", m), ("k", k), ("n", n)))
        dut.cmd__valid.value = 1
        await ReadOnly()
        waited = 0
        while not dut.cmd__ready.value:
            if waited == self.COMMAND_WAIT_LIMIT:
                raise RuntimeError(f"cmd.ready stayed low for {waited} cycles: the previous "
                                   f"job never ended (busy {dut.busy.value})")
            await RisingEdge(self.clk)
            await ReadOnly()
            waited += 1
        await RisingEdge(self.clk)
        dut.cmd__valid.value = 0

    async def run_job(self, x, w, *, weight_pattern=None, activation_pattern=None,
                      result_pattern=None, max_cycles=None, stop_after=None):
        """One hardware job (``M <= max_m``): ``(y int64 [M, N], cycles)``.

        ``stop_after`` ends the job early after that many cycles (for reset tests) and returns
        ``(None, cycles)``.
        """
        cfg = self.config
        m, k = x.shape
        n = w.shape[0]
        layout = JobLayout(cfg, m, k, n)
        weights = layout.weight_words(w)
        activations = layout.activation_words(x)
        weight_pattern = weight_pattern or always()
        activation_pattern = activation_pattern or always()
        result_pattern = result_pattern or always()
        if max_cycles is None:
            max_cycles = 20 * cfg.cycles(m, k, n) + 1000

        await self.start_job(m, k, n)
        wi = ai = 0
        results = []
        cycle = 0
        first = last = None
        while len(results) < layout.result_beats:
            offer_w = wi < len(weights) and next(weight_pattern)
            offer_a = ai < len(activations) and next(activation_pattern)
            take_r = next(result_pattern)
            self._w_valid.value = offer_w
            if offer_w:
                self._w_data.value = weights[wi]
            self._a_valid.value = offer_a
            if offer_a:
                self._a_data.value = activations[ai]
            self._r_ready.value = take_r
            await ReadOnly()
            if offer_w and self._w_ready.value:
                wi += 1
                first = cycle if first is None else first
            if offer_a and self._a_ready.value:
                ai += 1
                first = cycle if first is None else first
            if take_r and self._r_valid.value:
                results.append(self._r_data.value.to_unsigned())
                last = cycle
            await RisingEdge(self.clk)
            cycle += 1
            if stop_after is not None and cycle >= stop_after:
                self._idle()
                return None, cycle
            if cycle > max_cycles:
                raise RuntimeError(
                    f"job M={m} K={k} N={n} stalled: after {cycle} cycles, {wi}/{len(weights)} "
                    f"weight, {ai}/{len(activations)} activation and "
                    f"{len(results)}/{layout.result_beats} result beats")
        self._idle()
        return layout.results(results), last - first + 1

    def _idle(self):
        self._w_valid.value = 0
        self._a_valid.value = 0
        self._r_ready.value = 0
