"""The exact cycle model of the memory-mapped top: ``CYCLES`` of a job, given the memory.

The memory: a read burst's first beat ``read_latency`` cycles after the cycle its request is
accepted, then one beat per cycle, bursts back to back (requests are always accepted); writes:
addresses and data accepted in every cycle, a burst's response ``write_response`` cycles after
its last data beat. Nothing stalls but what the core itself does.

A job then runs so (cycle 0 is the cycle the start is accepted, ``Registers.launch``):

* the readers' first requests are accepted in cycle :data:`REQUEST_CYCLE`
  (:data:`~rtl.axi.top.SETUP_CYCLES` to compute the counts, two for the burst plan, one for the
  request register);
* their first beats arrive ``read_latency`` cycles later and leave the FIFOs two cycles after
  that, so the core takes its first weight beat in cycle ``T0 = REQUEST_CYCLE +
  read_latency + 2``; from then on every weight and activation beat is there when the core
  wants it (the FIFOs cover the latency), and the core runs as the stream top with sources
  always valid: its result beats leave on the cycles of
  :meth:`rtl.config.AccelConfig.result_row_ends`, shifted by ``T0``;
* the writer (:class:`~rtl.axi.burst_writer.BurstWriter`) takes each result beat as it comes;
  :func:`writer_end` replays its registers cycle by cycle: bursts of the plan when the FIFO
  holds them, shorter ones when the results pause, a beat in its FIFO one cycle after it is
  taken, the W beats two cycles after a burst's address, the responses;
* the job ends (``STATUS.done``, the value of ``CYCLES``) in the first cycle at least two
  after the core's last result beat (its ``done``, then the top's register) in which the
  writer is idle.

A job queued behind the running one (:func:`axi_queue_cycles`) has its weights and activations
read while that one still runs; when it ends (``STATUS.done``, cycle ``e``), the writer starts
the queued job in cycle ``e`` and the core takes its command in cycle ``e + 1`` and its first
weight beat in ``e + 2``, from the FIFOs, and the job runs as above from ``T0 = e + 2``.

``tests`` compare :func:`axi_job_cycles` and :func:`axi_queue_cycles` with the co-simulated
``CYCLES`` register.
"""

import collections

from .. import interface
from ..checks import check_config, check_integer
from .bus import PAGE_BYTES
from .top import SETUP_CYCLES, WRITER_BURSTS, max_burst


__all__ = ["REQUEST_CYCLE", "WRITER_START", "FIFO_LATENCY", "WRITER_INPUT", "WRITE_RESPONSE",
           "QUEUED_START",
           "axi_job_cycles", "axi_queue_cycles", "first_weight_cycle", "writer_end"]

#: Cycle (after the accepted start) in which the readers' first requests are accepted.
REQUEST_CYCLE = SETUP_CYCLES + 3
#: Cycle (after the accepted start) in which the writer starts a job from idle: the cycle after
#: the readers started it (``go``, :data:`~rtl.axi.top.SETUP_CYCLES`).
WRITER_START = SETUP_CYCLES + 1
#: Cycles from a FIFO write to the entry on its output (``amaranth.lib.fifo.SyncFIFOBuffered``).
FIFO_LATENCY = 2
#: Cycles the result writer holds a beat in its input register before the FIFO.
WRITER_INPUT = 1
#: Cycles from the end of a job to the first weight beat the core takes of the job queued behind
#: it (the writer starts in the end's cycle, the core takes its command in the next one).
QUEUED_START = 2
#: ``write_response`` of cocotbext-axi's write model: a burst's response two cycles after its
#: last data beat.
WRITE_RESPONSE = 2


def first_weight_cycle(read_latency):
    """``T0``: the cycle the core takes its first weight beat."""
    return REQUEST_CYCLE + read_latency + FIFO_LATENCY


def _plan_length(address, left, beat_bytes, longest):
    to_page = (PAGE_BYTES - address % PAGE_BYTES) // beat_bytes
    return min(left, longest, to_page)


def writer_end(beats, *, start, data_bits, write_response=WRITE_RESPONSE, base=0):
    """Replay the result writer started in cycle ``start`` (its ``go``) on beats arriving in
    the cycles ``beats`` (ascending, one per cycle at most, all after ``start``); return the
    first cycle in which it is idle again. ``base``: the result image's address (only its
    offset in a page matters; the jobs of :func:`axi_job_cycles` have page-aligned images, as
    ``cosim.axi_driver`` places them)."""
    if any(later <= earlier for earlier, later in zip([start, *beats], beats)):
        raise ValueError("beats must be ascending cycles after start")
    beat_bytes = data_bits // 8
    longest = max_burst(data_bits)
    arrivals = set(beats)
    count = len(beats)
    # registers, as in the cycle after start
    busy, to_take, unclaimed = True, count, 0
    address, left, length, fresh = base, count, 0, False
    awvalid, awlen = False, 0
    lengths = collections.deque()        # [written cycle, awlen]: issued, not fully written
    lengths_level = 0
    data = collections.deque()           # written cycle of each beat in the FIFO
    data_shown = start                   # the cycle the previous entry left the data FIFO
    lengths_shown = start
    beat = 0
    awaiting = 0
    responses = collections.Counter()
    c = start + 1
    while True:
        taken = busy and to_take > 0 and c in arrivals
        valid_now = c in arrivals
        paused = (not valid_now) or to_take == 0
        full = unclaimed >= length
        burst = length if full else unclaimed
        issued = awvalid
        decide = (not awvalid and fresh and left != 0 and busy and
                  (full or (paused and unclaimed != 0)) and lengths_level < WRITER_BURSTS and
                  awaiting + lengths_level < WRITER_BURSTS)
        # W: the head beat and the head length must both be on their FIFOs' outputs.
        sent = burst_done = False
        if data and lengths:
            data_ready = max(data[0] + WRITER_INPUT + FIFO_LATENCY, data_shown + 1)
            length_ready = max(lengths[0][0] + FIFO_LATENCY, lengths_shown + 1)
            if c >= data_ready and c >= length_ready:
                sent = True
                burst_done = beat == lengths[0][1]
        answered = responses[c]
        if (busy and not awvalid and left == 0 and lengths_level == 0 and awaiting == 0
                and not burst_done and not answered):
            return c + 1
        # next state
        next_length = _plan_length(address, left, beat_bytes, longest)
        if issued:
            awvalid = False
            used = awlen + 1
            address += used * beat_bytes
            left -= used
            fresh = False
            lengths.append((c, awlen))
            unclaimed -= used
        elif decide:
            awvalid, awlen = True, burst - 1
            fresh = True
        else:
            fresh = True
        length = next_length
        if taken:
            data.append(c)
            unclaimed += 1
            to_take -= 1
        lengths_level += issued - burst_done
        if sent:
            data.popleft()
            data_shown = c
            beat = 0 if burst_done else beat + 1
        if burst_done:
            lengths.popleft()
            lengths_shown = c
            responses[c + write_response] += 1
        awaiting += burst_done - answered
        c += 1


def _job_end(config, m, k, n, *, t0, writer_start, write_response):
    """The cycle a job ends (``STATUS.done``) whose core takes its first weight beat in ``t0``
    and whose writer starts in ``writer_start``, sources never waiting after ``t0``."""
    per_row = config.result_beats_per_row
    beats = [t0 + end - (per_row - 1) + j for end in config.result_row_ends(m, k, n)
             for j in range(per_row)]
    idle = writer_end(beats, start=writer_start, data_bits=interface.data_port_bits(config),
                      write_response=write_response)
    return max(beats[-1] + 2, idle)


def _check(config, read_latency, write_response):
    check_config(config)
    if config.interface != "axi":
        raise ValueError(f"config.interface must be 'axi', not {config.interface!r}")
    if read_latency is None:
        read_latency = interface.read_latency(config)
    check_integer("read_latency", read_latency, 1)
    check_integer("write_response", write_response, 0)
    return read_latency


def axi_job_cycles(config, m, k, n, *, read_latency=None, write_response=WRITE_RESPONSE):
    """``CYCLES`` of a job ``(M, K, N)`` on the memory-mapped top of ``config`` with the memory
    above (``read_latency`` by default the configuration's), started from idle."""
    read_latency = _check(config, read_latency, write_response)
    return _job_end(config, m, k, n, t0=first_weight_cycle(read_latency),
                    writer_start=WRITER_START, write_response=write_response)


def axi_queue_cycles(config, jobs, *, launches=None, read_latency=None,
                     write_response=WRITE_RESPONSE):
    """``CYCLES`` of each job of ``jobs`` (``[(M, K, N), ...]``, at least one) run as a queue,
    the first started from idle, each later one started while the job before it runs.

    ``launches``: the cycle each job's start was accepted, counted from the first job's
    (``launches[0] == 0``); None: every job started in the first cycle the hardware accepts it
    (two cycles after the job before it was handed to the writer), as software that queues
    the next job at once does. The queued job's readers start at the later of its launch plus
    ``SETUP_CYCLES`` and the cycle after they issued the last request of the job before, so
    its first weight beat is taken in ``max(e + 2, launch + T0)`` (``e`` the end of the job
    before it, ``T0`` :func:`first_weight_cycle`: its beats wait in the FIFOs when it is
    queued before the readers' last request of that job, since the core then still drains
    it), and its writer starts in ``max(e, launch + WRITER_START)``; a job started more than a
    cycle after the one before it ended runs from idle. Each job's ``CYCLES`` counts from the
    end of the job before it (from its own start when it ran from idle), so a queue's
    ``CYCLES`` add up to its time. A start the hardware would refuse (before the job before it
    has been handed to the core: less than two cycles after its writer started) raises
    ``ValueError``."""
    read_latency = _check(config, read_latency, write_response)
    if not isinstance(jobs, (tuple, list)):
        raise TypeError(f"jobs must be a list of (M, K, N), not {type(jobs).__name__}")
    for i, job in enumerate(jobs):
        if not isinstance(job, (tuple, list)) or len(job) != 3:
            raise TypeError(f"jobs[{i}] must be an (M, K, N) triple, not {job!r}")
        try:
            config.check_job(*job)
        except ValueError as error:
            raise ValueError(f"jobs[{i}]: {error}") from None
    if not jobs:
        raise ValueError("jobs must hold at least one (M, K, N)")
    if launches is not None:
        if not isinstance(launches, (tuple, list)):
            raise TypeError(f"launches must be a list of cycles, not "
                            f"{type(launches).__name__}")
        launches = list(launches)
        if len(launches) != len(jobs):
            raise ValueError(f"launches must hold one cycle per job ({len(jobs)}), not "
                             f"{len(launches)}")
        for launch in launches:
            check_integer("a launch", launch, 0)
        if launches[0] != 0:
            raise ValueError(f"launches[0] must be 0 (the first job's start), not "
                             f"{launches[0]}")
    t0 = first_weight_cycle(read_latency)
    end = _job_end(config, *jobs[0], t0=t0, writer_start=WRITER_START,
                   write_response=write_response)
    cycles, writer = [end], WRITER_START
    for i, job in enumerate(jobs[1:], 1):
        launch = writer + 2 if launches is None else launches[i]
        if launch < writer + 2:
            raise ValueError(f"job {i} starts in cycle {launch}, before job {i - 1} was handed "
                             f"to the core (cycle {writer + 2}): the hardware refuses it")
        # The same formulas from idle: a start more than a cycle after the end comes after
        # its beats' latency (``launch + t0 > end + 2``) and the writer's end. Only where
        # CYCLES counts from differs: the registers see a job's end a cycle later, so a start
        # in the cycle after it still counts from the end (behind the job), a later one from
        # its own start (from idle).
        first = max(end + QUEUED_START, launch + t0)
        writer = max(end, launch + WRITER_START)
        later = _job_end(config, *job, t0=first, writer_start=writer,
                         write_response=write_response)
        cycles.append(later - (launch if launch > end + 1 else end))
        end = later
    return cycles
