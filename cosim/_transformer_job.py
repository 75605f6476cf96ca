"""The cocotb test that :func:`cosim.transformer.run_transformer` runs inside the simulator.

Golden's own batched generation loop (:meth:`golden.BitNetModel.generate_batch_with_logits`:
the prompts are decoded together, so every projection of a pass is ONE GEMM over the rows of
all live sequences, ``M`` = the batch) runs unchanged in a ``cocotb.bridge`` thread; the model's
GEMM backend is :class:`HardwareGemm`, which hands each projection's integer GEMM to the
harness driver
(:class:`cosim.harness_driver.HarnessDriver`: the GEMM streamed from files by the Verilog
harness at full simulator speed) with ``cocotb.resume`` and blocks until the hardware has
produced it. Everything else (norms, RoPE, attention, sampling) stays in golden's NumPy code.
With ``interface="axi"`` the driver is :class:`cosim.axi_driver.AxiDriver` instead: each GEMM
goes through memory and the registers of the memory-mapped top. The job (a JSON file, see
``cosim/transformer.py``) names the checkpoint, the prompts and the generation options; the
outcome is written beside it.
"""

import json
import time

import numpy as np

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.task import bridge, resume

import golden
from rtl.config import AccelConfig

from .harness_driver import HarnessDriver
from .runner import job_config, job_file, progress


class HardwareMismatch(AssertionError):
    """A hardware result differs from golden's integer GEMM."""


class HardwareGemm:
    """GEMM backend of a :class:`golden.BitNetModel` that runs on the simulated accelerator.

    Every call is checked against :func:`golden.int_gemm` at once, so a wrong result stops
    the run with the layer, projection, output tile and element that differ. Each call is
    recorded with its phase, forward pass (``step``: 0 is the prefill, i >= 1 feeds new token
    i), shape, cycle count and wall time. :meth:`on_forward` is the model loop's hook.
    """

    def __init__(self, driver, model, *, progress=None):
        self._gemm = resume(driver.gemm)
        self.config = driver.config
        self.model = model
        self.progress = progress
        self.layers = model.config.num_hidden_layers
        self.phase, self.step, self.what = "prefill", 0, ""
        self.records = []

    def start_batch(self, prompt_lengths, new_tokens):
        """Reset the records for a batch of prompts of these lengths."""
        self.records = []
        self.prompt_lengths, self.new_tokens = list(prompt_lengths), new_tokens

    def on_forward(self, step):
        """Called by golden's loop before each forward pass."""
        self.phase, self.step = ("prefill" if step == 0 else "decode"), step
        tokens, count = sum(self.prompt_lengths), len(self.prompt_lengths)
        if step == 0:
            self.what = (f"{tokens} prompt tokens" if count == 1
                         else f"{count} prompts ({tokens} prompt tokens)")
        else:
            self.what = f"new token {step} of {self.new_tokens}"

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
            rows = (f" ({xq.shape[0]} sequences)"
                    if self.phase == "decode" and len(self.prompt_lengths) > 1 else "")
            self.progress(f"{self.what}{rows}: layer {layer + 1}/{self.layers} done")
        return result.y


@cocotb.test()
async def transformer_job(dut):
    config = AccelConfig(**job_config())
    path = job_file()
    job = json.loads(path.read_text())
    model = golden.load_checkpoint(job["checkpoint"])
    if config.interface == "axi":
        from .axi_driver import AxiDriver
        driver = AxiDriver(dut, config)          # through memory, as software would
    else:
        driver = HarnessDriver(dut, config, folder=path.parent)
    await driver.reset()

    backend = HardwareGemm(driver, model, progress=progress if job["progress"] else None)
    model.gemm = backend
    prompts = job["prompts"]

    def run():
        backend.start_batch([len(prompt) for prompt in prompts], job["max_new_tokens"])
        began = time.perf_counter()
        results = model.generate_batch_with_logits(
            prompts, job["max_new_tokens"], temperature=job["temperature"], top_k=job["top_k"],
            seed=job["seed"], stop_at_eos=job["stop_at_eos"], on_forward=backend.on_forward)
        return results, backend.records, time.perf_counter() - began

    results, records, seconds = await bridge(run)()
    for index, (_, logits) in enumerate(results):
        np.save(path.parent / f"logits-{index}.npy", logits)
    (path.parent / "result.json").write_text(json.dumps({
        "new_ids": [[int(i) for i in ids] for ids, _ in results], "records": records,
        "seconds": seconds}))
