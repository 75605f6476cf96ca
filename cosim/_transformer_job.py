"""The cocotb test that :func:`cosim.transformer.run_transformer` runs inside the simulator.

The golden model runs unchanged in a ``cocotb.bridge`` thread; its GEMM backend is
:class:`HardwareGemm`, which hands each projection's integer GEMM to the cocotb driver with
``cocotb.resume`` and blocks until the hardware has produced it. Everything else (norms,
RoPE, attention, sampling) stays in golden's NumPy code.
"""

import json
import os
import sys
import time

import numpy as np

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.task import bridge, resume

import golden
from rtl.config import AccelConfig

from .bench import CONFIG_VARIABLE, start_clock
from .driver import AccelDriver
from .transformer import greedy_with_logits

JOB_VARIABLE = "TERNARY_ACCEL_TRANSFORMER_JOB"


class HardwareMismatch(AssertionError):
    """A hardware result differs from golden's integer GEMM."""


class HardwareGemm:
    """GEMM backend of a :class:`golden.BitNetModel` that runs on the simulated accelerator.

    Every call is checked against :func:`golden.int_gemm` at once, so a wrong result stops
    the run with the layer, projection, output tile and element that differ. Each call is
    recorded with its phase, token step, shape, cycle count and wall time.
    """

    def __init__(self, driver, model, *, progress=None):
        self._gemm = resume(driver.gemm)
        self.config = driver.config
        self.model = model
        self.progress = progress
        self.phase, self.step = "prefill", 0
        self.records = []

    def __call__(self, xq, wq):
        name = self.model.current_projection or "unnamed"
        began = time.perf_counter()
        sim_began = get_sim_time("ns")
        result = self._gemm(xq, wq)
        seconds = time.perf_counter() - began
        expected = golden.int_gemm(xq, wq)
        if not np.array_equal(result.y, expected):
            m, n = (int(i) for i in np.argwhere(result.y != expected)[0])
            k_tiles = -(-wq.shape[1] // self.config.rows)
            raise HardwareMismatch(
                f"{name} ({self.phase}, token {self.step}): Y[{m}, {n}] = {result.y[m, n]}, "
                f"golden {expected[m, n]}; output tile N {n // self.config.cols} (columns "
                f"{n // self.config.cols * self.config.cols}..), {k_tiles} K tiles, array "
                f"column {n % self.config.cols}, activation row {m}; simulated from "
                f"{sim_began} ns to {get_sim_time('ns')} ns "
                f"(re-run with TERNARY_ACCEL_WAVES=1 for dump.fst)")
        parts = name.split(".")
        layer = int(parts[2]) if len(parts) > 3 and parts[1] == "layers" else -1
        self.records.append({
            "projection": name, "kind": parts[-1], "layer": layer, "phase": self.phase,
            "step": self.step, "m": int(xq.shape[0]), "k": int(xq.shape[1]),
            "n": int(wq.shape[0]), "cycles": int(result.cycles), "seconds": seconds,
        })
        if self.progress and parts[-1] == "down_proj":
            self.progress(f"{self.phase} token {self.step}: layer {layer} done")
        return result.y


@cocotb.test()
async def transformer_job(dut):
    config = AccelConfig(**json.loads(os.environ[CONFIG_VARIABLE]))
    job_path = os.environ[JOB_VARIABLE]
    with open(job_path) as handle:
        job = json.load(handle)
    model = golden.load_checkpoint(job["checkpoint"])
    start_clock(dut)
    driver = AccelDriver(dut, config)
    await driver.reset()

    def progress(text):
        if job.get("progress"):
            print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    backend = HardwareGemm(driver, model, progress=progress)
    model.gemm = backend

    def on_step(phase, step):
        backend.phase, backend.step = phase, step

    def run():
        outcomes = []
        for index, prompt in enumerate(job["prompts"]):
            began = time.perf_counter()
            backend.records = []
            new_ids, logits = greedy_with_logits(model, prompt, job["max_new_tokens"],
                                                 on_step=on_step)
            outcomes.append({"new_ids": [int(i) for i in new_ids], "logits": logits,
                             "records": backend.records,
                             "seconds": time.perf_counter() - began})
            if len(job["prompts"]) > 1:
                progress(f"prompt {index + 1}/{len(job['prompts'])} done")
        return outcomes

    outcomes = await bridge(run)()
    out = os.path.dirname(job_path)
    for index, outcome in enumerate(outcomes):
        np.save(os.path.join(out, f"logits-{index}.npy"), outcome.pop("logits"))
    with open(os.path.join(out, "result.json"), "w") as handle:
        json.dump(outcomes, handle)
