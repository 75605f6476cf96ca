"""What one point does per token: cycles (the exact cycle model), seconds on a memory system
at a clock, tokens per second, and energy per token.

A sweep's phases are forward passes over ``m`` token positions (:func:`phases`): prefill of a
``prompt``-token prompt (``m = prompt``) and decode steps of each batch size ``B``
(``m = B``), each a list of :class:`~gen.explore.workload.Job`\\ s
(:func:`gen.explore.workload.pass_jobs`). Per phase:

* ``cycles_per_token`` = the pass's cycles / ``m`` (clock and memory free);
* ``tokens_per_s`` = ``m`` / the pass's seconds, each job
  :meth:`~gen.explore.memory.MemorySystem.job_seconds` (latency once per job, then the slower
  of the array and the memory);
* ``memory_bound`` = the share of the pass's jobs (counted with their layers) whose memory
  time exceeds their array time;
* ``j_per_token`` = the energy of the pass's jobs / ``m``, from a ``job_energy(accel, m, k,
  n)`` function (:mod:`gen.explore.energy`'s tables), when one is given; it does not depend
  on the clock (static power is not counted).

The cycle model of a small array over 2B-4T's shapes runs a few seconds per job shape, so
:func:`job_cycles` keeps its results for the process (configurations are values).
"""

import functools

from .memory import job_bytes
from .workload import pass_jobs


__all__ = ["phases", "job_cycles", "PhaseCycles", "phase_cycles", "phase_speed"]


def phases(prompt, batches):
    """``[(label, m)]``: ``("prefill", prompt)`` (left out when ``prompt`` is 0), then
    ``("decode_b<B>", B)`` for each batch size in ``batches``."""
    found = [("prefill", prompt)] if prompt else []
    return found + [(f"decode_b{batch}", batch) for batch in batches]


@functools.lru_cache(maxsize=4096)
def job_cycles(accel, m, k, n):
    """:meth:`AccelConfig.cycles(m, k, n) <rtl.config.AccelConfig.cycles>`, remembered."""
    return accel.cycles(m, k, n)


class PhaseCycles:
    """The clock-free figures of one phase of one configuration: ``m``, ``jobs`` (a list of
    ``(job, cycles, bytes)``), ``cycles`` (of the whole pass), ``cycles_per_token``,
    ``bytes_per_token`` and ``j_per_token`` (``None`` without ``job_energy``)."""

    def __init__(self, model, accel, m, job_energy=None):
        self.accel, self.m = accel, m
        self.jobs = [(job, job_cycles(accel, job.m, job.k, job.n),
                      job_bytes(accel, job.m, job.k, job.n))
                     for job in pass_jobs(model, accel, m)]
        self.cycles = sum(job.count * cycles for job, cycles, _ in self.jobs)
        self.cycles_per_token = self.cycles / m
        self.bytes_per_token = sum(job.count * moved for job, _, moved in self.jobs) / m
        self.j_per_token = None
        if job_energy is not None:
            self.j_per_token = sum(job.count * job_energy(accel, job.m, job.k, job.n)
                                   for job, _, _ in self.jobs) / m


def phase_cycles(model, accel, m, job_energy=None):
    """The :class:`PhaseCycles` of a pass over ``m`` positions of ``model`` on ``accel``."""
    return PhaseCycles(model, accel, m, job_energy)


def phase_speed(phase, memory, clock_hz):
    """``{"tokens_per_s", "memory_bound"}`` of a :class:`PhaseCycles` on ``memory`` at
    ``clock_hz``."""
    seconds, bound, count = 0.0, 0, 0
    for job, cycles, moved in phase.jobs:
        seconds += job.count * memory.job_seconds(cycles, clock_hz, moved)
        count += job.count
        if moved / memory.bandwidth(clock_hz) > cycles / clock_hz:
            bound += job.count
    return {"tokens_per_s": phase.m / seconds, "memory_bound": bound / count}
