"""Synthesis and place and route of a sweep's points as Dask tasks (``dask.distributed``).

Each point is one task, :func:`synthesize_point`, which a Dask worker runs: it calls
:func:`gen.synth.synthesize` (the design only, no per-PE breakdown; place and route where
asked) in the point's own folder and returns a small JSON-able summary. The tools are
subprocesses of the worker (YoWASP's WebAssembly builds, or native ones), so a worker runs
one tool at a time with ``threads_per_worker=1``.

:func:`open_client` connects to the scheduler at ``--scheduler tcp://HOST:PORT`` (a cluster of
many machines, each worker with this project installed) or starts a ``LocalCluster`` with one
single-threaded worker process per core. :func:`submit` hands the tasks to the workers;
:func:`collect` stores each result in the cache as it arrives and reports progress on
stderr.

A point that fails (a tool error, a design that does not fit the device, a tool stopped by
its timeout, a worker that died) is recorded with its error (``status`` ``failed`` or
``timeout``) and the sweep goes on. Each tool run of a point may take ``timeout`` seconds
(:func:`gen.synth.synthesize`'s own timeout, which kills the tool), so a point with place
and route takes at most about twice that.
"""

import logging
import os
import socket
import sys
import time

from ..synth import SynthError, synthesize


__all__ = ["synthesize_point", "summary", "open_client", "Progress", "submit", "collect"]

#: The phrase of :func:`gen.synth.tools.run`'s message for a tool stopped by its timeout.
_TIMED_OUT = "did not finish within"

#: Seconds allowed to reach a scheduler given by address.
CONNECT_TIMEOUT_S = 10


def summary(report):
    """The figures of a ``report.json`` a sweep keeps: resource counts, Fmax, tool times,
    nextpnr's utilization and critical path."""
    pnr = report.get("pnr") or {}
    path = pnr.get("critical_path") or {}
    return {
        "luts": report["luts"], "lut_equivalents": report["lut_equivalents"],
        "lut_muxes": report["lut_muxes"], "carry": report["carry"], "ffs": report["ffs"],
        "brams": report["brams"], "lutram": report["lutram"], "dsps": report["dsps"],
        "device": report["device"], "fmax_mhz": report["fmax_mhz"],
        "pnr_target_mhz": pnr.get("target_mhz"),
        "synth_seconds": report["synth_seconds"], "pnr_seconds": pnr.get("seconds"),
        "utilization": pnr.get("utilization"),
        "critical_path": (f"{path['from']} -> {path['to']} ({path['delay_ns']} ns, "
                          f"{path['routing_ns']} routing)") if path else None,
        "tools": report["tools"],
    }


def synthesize_point(task):
    """The Dask task of one point: synthesize ``task["config"]`` for ``task["target"]`` in
    ``task["folder"]`` with ``task["options"]`` (``pnr``, ``device``, ``freq_mhz``, ``dsp``)
    and ``task["timeout"]`` seconds per tool run. Returns ``{"status": "ok", ...}``
    (:func:`summary`) or ``{"status": "failed" | "timeout", "error": ...}``, with
    ``seconds`` (wall time) and ``worker`` (host and process). Never raises for a point's own
    failure."""
    began = time.perf_counter()
    options = task["options"]
    try:
        report = synthesize(task["config"], task["target"], task["folder"],
                            pnr=options["pnr"], device=options["device"],
                            freq_mhz=options["freq_mhz"], dsp=options["dsp"],
                            breakdown=False, timeout=task["timeout"], verilog=task["verilog"])
        result = {"status": "ok", **summary(report)}
    except SynthError as error:
        status = "timeout" if _TIMED_OUT in str(error) else "failed"
        result = {"status": status, "error": str(error)}
    except Exception as error:      # a flow bug must not end the sweep: record it
        result = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
    result["seconds"] = round(time.perf_counter() - began, 1)
    result["timeout"] = task["timeout"]
    result["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return result


def open_client(scheduler=None, workers=None):
    """A ``dask.distributed.Client``: connected to ``scheduler`` (an address such as
    ``tcp://HOST:PORT``), or to a new ``LocalCluster`` of ``workers`` single-threaded worker
    processes (default: the machine's cores). Raises ``ConnectionError`` with one line when
    the scheduler cannot be reached within :data:`CONNECT_TIMEOUT_S` seconds."""
    from dask.distributed import Client, LocalCluster
    if scheduler is not None:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as error:
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler} within "
                                  f"{CONNECT_TIMEOUT_S} s: {detail}") from None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    return Client(cluster)


def _clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    """One line on ``stream`` (stderr) per finished point: done / total, failures, elapsed
    time and the time left at the mean pace so far."""

    def __init__(self, total, stream=None, clock=time.monotonic):
        self.total, self.done, self.failed = total, 0, 0
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        self.began = clock()

    def update(self, label, result):
        self.done += 1
        self.failed += result["status"] != "ok"
        elapsed = self.clock() - self.began
        left = elapsed / self.done * (self.total - self.done)
        outcome = "ok" if result["status"] == "ok" else result["status"]
        failed = f", {self.failed} failed" if self.failed else ""
        print(f"explore: {self.done}/{self.total} points synthesized{failed}, "
              f"{_clock(elapsed)} elapsed, about {_clock(left)} left ({label}: {outcome}, "
              f"{result['seconds']:.0f} s)", file=self.stream, flush=True)


def submit(client, tasks):
    """Submit every task (a dict for :func:`synthesize_point` with its cache ``key`` and
    ``label``) to ``client``; returns ``{future: task}`` for :func:`collect`. The largest
    arrays get the highest priority, so the longest runs start first and the short ones fill
    the workers at the end (a shorter sweep than smallest first)."""
    # Submitted largest first too: a free worker takes a task as soon as it arrives.
    ordered = sorted(tasks, key=lambda task: -task["config"].pe_count)
    return {client.submit(synthesize_point, task, key=f"explore-synth-{task['key']}",
                          pure=False, priority=task["config"].pe_count): task
            for task in ordered}


def collect(futures, cache, progress):
    """Wait for the futures of :func:`submit` in the order they finish, store each result in
    ``cache`` as it arrives, report it to ``progress``, and return ``{key: result}``. A task
    whose Dask future fails (its worker died) is recorded as ``failed``."""
    from dask.distributed import as_completed
    results = {}
    for future in as_completed(futures):
        task = futures[future]
        try:
            result = future.result()
        except Exception as error:
            result = {"status": "failed", "seconds": 0.0, "timeout": task["timeout"],
                      "error": f"the Dask task failed: {type(error).__name__}: {error}"}
        cache.put(task["key"], result)
        results[task["key"]] = result
        progress.update(task["label"], result)
    return results
