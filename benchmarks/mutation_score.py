"""Mutation score of the verification: realistic bugs put into the hardware description one
at a time, and which suite of the default test command (``python -m pytest``) notices each.

Every mutation is one exact text replacement in one ``rtl/*.py`` file. The script copies the
repository's tracked files (as they are in the working tree) to a private temporary folder,
never touching the checkout's own ``rtl/``, and for each mutation, in that copy:

1. applies the replacement (refused, with the mutation named, unless the old text occurs
   exactly once in the file: a stale mutation must not silently test nothing);
2. runs the suites, fastest first, each a ``python -m pytest -x`` in the copy's root with a
   time limit, stopping at the first that fails (a *kill*) unless ``--all-suites``:

   * ``amaranth``: ``tests/test_rtl_amaranth.py``, the top level in Amaranth's simulator
     against golden and the cycle model (about 10 s);
   * ``formal``: the SymbiYosys proofs ``tests/test_formal_*.py`` named by the mutation's
     hint (the proofs of its block and of the 2x2 product), or all of them with
     ``--all-formal`` (about 2 minutes on two idle cores);
   * ``cocotb``: ``cosim/test_top.py -k "4x3 or 8x8-t5-w64 or 5x4"``, the Verilator benches
     of three configurations (each mutant is three new builds, 30-60 s each);

3. restores the file.

A suite that fails or errors (a mutant that does not even elaborate is killed too) or runs
past its time limit (300, 900 and 600 s, times ``--timeout-factor``) kills the mutant: a
bench that hangs fails CI too, if later; the table says ``timeout``. A suite that passes lets
it survive. Before the
mutants, the script checks that the copy is what runs (``rtl`` imports from the copy, and a
syntax error put into the copy's ``rtl/pe.py`` fails the Amaranth suite) and, unless
``--no-baseline``, that every selected suite passes on the unmutated copy.

Output: a markdown table (mutation, block, killed by: suite and first failing test, time),
the score, and the kills per suite; progress goes to stderr. Run on demand, not in CI::

    python benchmarks/mutation_score.py                 # every mutation, default suites
    python benchmarks/mutation_score.py --only 3,7 --all-suites
    python benchmarks/mutation_score.py --list          # the mutations, checked, not run

``tests/test_mutation_score.py`` keeps the list from going stale (every old text occurs once
in the current sources, every block has a mutation) without running it.
"""

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from golden.cli import OneLineParser, UsageError, positive_number, run_cli  # noqa: E402


PROG = "mutation_score"


@dataclasses.dataclass(frozen=True)
class Mutation:
    """One bug: ``old`` replaced by ``new`` in ``file`` (a path under the repository root),
    in ``block`` (a key of :data:`BLOCKS`); ``formal`` names the formal test files most likely
    to notice it (tests/test_formal_*.py, run by the ``formal`` suite without
    ``--all-formal``)."""
    file: str
    old: str
    new: str
    description: str
    block: str
    formal: tuple = ()


class StaleMutation(Exception):
    """A mutation whose old text does not occur exactly once in its file."""


#: The blocks of the hardware description (and its cycle model) that must each carry at
#: least one mutation: block -> its file.
BLOCKS = {
    "JobControl": "rtl/command.py",
    "TileCounter": "rtl/tile_counter.py",
    "WeightStore": "rtl/weight_store.py",
    "WeightDecoder": "rtl/decoder.py",
    "TernaryPE": "rtl/pe.py",
    "Int8PE": "rtl/pe_int8.py",
    "SystolicArray": "rtl/array.py",
    "Accumulator": "rtl/accumulator.py",
    "ActivationFeeder": "rtl/feeder.py",
    "DelayLine": "rtl/delay_line.py",
    "pipeline": "rtl/pipeline.py",
    "ResultQueue": "rtl/result_queue.py",
    "ResultSerializer": "rtl/result_serializer.py",
    "ResultDrain": "rtl/drain.py",
    "SkewBuffer": "rtl/skew.py",
    "cycle model": "rtl/config.py",
}

_TOP = "test_formal_top.py"
_GEMM = "test_formal_gemm.py"

MUTATIONS = [
    Mutation("rtl/command.py", "check &= size <= top", "check &= size < top",
             "JobControl refuses the largest legal size (max_m, max_k, max_n)", "JobControl",
             ("test_formal_control.py", _TOP)),
    Mutation("rtl/command.py", "job.m_minus_2.eq(cmd.m - 2)", "job.m_minus_2.eq(cmd.m - 1)",
             "JobControl's M - 2 register off by one (M - 1)", "JobControl",
             ("test_formal_control.py", _TOP)),
    Mutation("rtl/tile_counter.py", "single = self.clear_k <= self.rows",
             "single = self.clear_k < self.rows",
             "TileCounter: a job of K = rows has a second K tile (last_k off by one at start)",
             "TileCounter", ("test_formal_weight_store.py", _TOP, _GEMM)),
    Mutation("rtl/tile_counter.py", "self.last_n.eq(n_left <= 2 * self.cols)",
             "self.last_n.eq(n_left < 2 * self.cols)",
             "TileCounter: last N tile found one tile late when N is a multiple of cols",
             "TileCounter", ("test_formal_weight_store.py", _TOP, _GEMM)),
    Mutation("rtl/tile_counter.py", "Mux(last_inner, single_beat, self.inner == beats_minus_2)",
             "Mux(last_inner, 0, self.inner == beats_minus_2)",
             "TileCounter: after a tile's last beat, a one-beat tile (M = 1) is counted as two",
             "TileCounter", ("test_formal_weight_store.py", _TOP, _GEMM)),
    Mutation("rtl/weight_store.py", "taken <= slots - 2", "taken <= slots - 1",
             "WeightStore: slot count off by one (a beat overwrites a slot still being read)",
             "WeightStore", ("test_formal_weight_store.py",)),
    Mutation("rtl/weight_store.py", "m.d.comb += freed.eq(strobe)",
             "m.d.comb += freed.eq(self.fetch)",
             "WeightStore: a slot freed when bank 0 reads it, not the last bank",
             "WeightStore", ("test_formal_weight_store.py",)),
    Mutation("rtl/weight_store.py", "            if r:\n                delayed",
             "            if r > 1:\n                delayed",
             "WeightStore: the fetch chain skips a register (bank 1 read with bank 0)",
             "WeightStore", ("test_formal_weight_store.py",)),
    Mutation("rtl/weight_store.py", "Mux(ends_tile & last_tile, 0, following)",
             "Mux(ends_tile & last_tile, 0, 0)",
             "WeightStore: row rotation lost (a beat straddling two tiles restarts at row 0)",
             "WeightStore", ("test_formal_weight_store.py",)),
    Mutation("rtl/weight_store.py", "write_spill.eq(~last_tile)", "write_spill.eq(0)",
             "WeightStore: the rows a straddling beat spills into the next tile are dropped",
             "WeightStore", ("test_formal_weight_store.py",)),
    Mutation("rtl/weight_store.py", "complete.eq(accept & ends_tile)", "complete.eq(accept)",
             "WeightStore: tile_ready counts every beat, so a tile may start incomplete",
             "WeightStore", ("test_formal_weight_store.py",)),
    Mutation("rtl/decoder.py", "self.codes[n].neg.eq(code == 0)",
             "self.codes[n].neg.eq(code == 2)",
             "WeightDecoder: i2 codes 0 and 2 swapped (-1 decodes as +1)", "WeightDecoder",
             ("test_formal_decoder.py",)),
    Mutation("rtl/decoder.py", "for b in range(256))",
             "for b in (*range(242), 241, *range(243, 256)))",
             "WeightDecoder: one wrong t5 table entry (byte 242, five +1, decodes as byte 241)",
             "WeightDecoder", ("test_formal_decoder.py",)),
    Mutation("rtl/pe.py", "negate.eq(weight.nz & weight.neg)",
             "negate.eq(weight.nz & ~weight.neg)",
             "TernaryPE: add and subtract swapped (+1 weights subtract, -1 weights add)",
             "TernaryPE", ("test_formal_pe.py",)),
    Mutation("rtl/pe.py", "Cat(C(1, 1), psum_ext) + Cat(negate, operand)",
             "Cat(C(1, 1), psum_ext) + Cat(C(0, 1), operand)",
             "TernaryPE: carry-in dropped (-x computed as ~x, one too small)", "TernaryPE",
             ("test_formal_pe.py",)),
    Mutation("rtl/pe_int8.py", "total.eq(psum_in + weight * self.x_in)",
             "total.eq(psum_in + weight * self.x_in.as_unsigned())",
             "Int8PE: activations multiplied as unsigned", "Int8PE", (_GEMM,)),
    Mutation("rtl/array.py", "self.weights[k][n * bits:(n + 1) * bits]",
             "self.weights[k][(cfg.cols - 1 - n) * bits:(cfg.cols - n) * bits]",
             "SystolicArray: weight columns wired in reverse order", "SystolicArray",
             (_GEMM,)),
    Mutation("rtl/accumulator.py",
             "for hit, (_, _, value) in reversed(list(zip(hits, recent))):",
             "for hit, (_, _, value) in list(zip(hits, recent)):",
             "Accumulator forwarding: wrong age (the oldest matching sum wins, not the newest)",
             "Accumulator", ("test_formal_accumulator.py",)),
    Mutation("rtl/accumulator.py", "(recent[1][0], recent[1][1])]", "(C(0, 1), recent[1][1])]",
             "Accumulator forwarding: missing match of the sum of three cycles ago",
             "Accumulator", ("test_formal_accumulator.py",)),
    Mutation("rtl/accumulator.py", "Mux(self.first, 0, previous[n])",
             "Mux(self.first & self.last, 0, previous[n])",
             "Accumulator: a first K tile adds the stale sum unless it is also the last",
             "Accumulator", ("test_formal_accumulator.py",)),
    Mutation("rtl/feeder.py", "for age in range(1, spacing - 1)]",
             "for age in range(1, spacing - 2)]",
             "ActivationFeeder: row spacing off by one (a row returns after 3 cycles, not 4)",
             "ActivationFeeder", (_TOP,)),
    Mutation("rtl/feeder.py", "self.token.valid.eq(accept)",
             "self.token.valid.eq(accept & ~tile_start)",
             "ActivationFeeder: a lost valid (no token for a tile's first row)",
             "ActivationFeeder", (_TOP, _GEMM)),
    Mutation("rtl/feeder.py", "(~rows.last_k | self.has_room)", "(~rows.last_k | 1)",
             "ActivationFeeder: ignores the result queue's credits (has_room)",
             "ActivationFeeder", (_TOP,)),
    Mutation("rtl/delay_line.py",
             "for stage in range(1, self.delay + 1):\n"
             "            reg = Signal(self.shape, name=f\"stage{stage}\", "
             "reset_less=self.reset_less)\n"
             "            m.d.sync += reg.eq(stages[-1])\n"
             "            stages.append(reg)\n"
             "        m.d.comb += self.o.eq(stages[self.delay])",
             "for stage in range(1, self.delay + 2):\n"
             "            reg = Signal(self.shape, name=f\"stage{stage}\", "
             "reset_less=self.reset_less)\n"
             "            m.d.sync += reg.eq(stages[-1])\n"
             "            stages.append(reg)\n"
             "        m.d.comb += self.o.eq(stages[self.delay + 1])",
             "DelayLine: one register too many (the token pipe and the fetch one cycle late)",
             "DelayLine", (_GEMM, _TOP)),
    Mutation("rtl/pipeline.py", "return FETCH_REGISTERS + WeightStore.read_latency",
             "return FETCH_REGISTERS + WeightStore.read_latency + 1",
             "pipeline: activation input delay one cycle too many (weights arrive first)",
             "pipeline", (_GEMM,)),
    Mutation("rtl/pipeline.py", "return FETCH_REGISTERS + WeightStore.free_delay(config)",
             "return WeightStore.free_delay(config)",
             "pipeline: slot hold one cycle short (the model frees a slot before the hardware)",
             "pipeline", (_GEMM,)),
    Mutation("rtl/result_queue.py", "claimed.eq(claimed + self.reserve - popped)",
             "claimed.eq(claimed + self.reserve - 2 * popped)",
             "ResultQueue: a credit counted twice (a popped row frees two slots)",
             "ResultQueue", ("test_formal_result_queue.py",)),
    Mutation("rtl/result_queue.py", "self.has_room.eq(claimed <= self.depth - 2)",
             "self.has_room.eq(claimed <= self.depth - 1)",
             "ResultQueue: room flag off by one (ignores that it is one cycle late)",
             "ResultQueue", ("test_formal_result_queue.py",)),
    Mutation("rtl/result_serializer.py", "beat.eq(Mux(self.last, 0, beat + 1))",
             "beat.eq(beat + 1)",
             "ResultSerializer: beat counter does not wrap after the last beat",
             "ResultSerializer", ("test_formal_control.py",)),
    Mutation("rtl/drain.py", "self.finish.eq(self.beat & rows.at_last & rows.last_n)",
             "self.finish.eq(self.beat & rows.at_last)",
             "ResultDrain: job finishes after the first N tile's results", "ResultDrain",
             (_TOP,)),
    Mutation("rtl/skew.py", "return tuple(range(lanes))",
             "return tuple(range(lanes - 1)) + (lanes,)",
             "SkewBuffer: the last row's activation skewed one cycle too many", "SkewBuffer",
             (_GEMM,)),
    Mutation("rtl/config.py", "return starts[-1] + m - 1 + self.latency + 1",
             "return starts[-1] + m + self.latency + 1",
             "cycle model: one cycle too many per job", "cycle model", ()),
    Mutation("rtl/config.py", "period = max(m, self.row_spacing)",
             "period = max(m, self.row_spacing - 1)",
             "cycle model: tiles of M < 4 rows spaced one cycle short", "cycle model", ()),
]


@dataclasses.dataclass(frozen=True)
class Suite:
    """One part of the default test command: pytest arguments and a time limit (seconds)."""
    name: str
    args: tuple
    timeout: float


FORMAL_FILES = "tests/test_formal_*.py"
SUITES = {
    "amaranth": Suite("amaranth", ("tests/test_rtl_amaranth.py",), 300),
    "formal": Suite("formal", (), 900),
    "cocotb": Suite("cocotb", ("cosim/test_top.py", "-k", "4x3 or 8x8-t5-w64 or 5x4"), 600),
}


def check_mutation(mutation, root=ROOT):
    """The text of ``mutation.file`` under ``root`` with the mutation applied; raises
    :class:`StaleMutation` unless its old text occurs exactly once and differs from the new."""
    path = Path(root) / mutation.file
    if not path.is_file():
        raise StaleMutation(f"mutation {mutation.description!r}: {mutation.file} does not "
                            f"exist")
    text = path.read_text()
    count = text.count(mutation.old)
    if count != 1:
        raise StaleMutation(f"mutation {mutation.description!r}: its old text occurs {count} "
                            f"times in {mutation.file}, not once: update the mutation "
                            f"({mutation.old!r})")
    if mutation.old == mutation.new:
        raise StaleMutation(f"mutation {mutation.description!r}: the new text is the old one")
    return text.replace(mutation.old, mutation.new)


def formal_files(root, mutation, everything):
    """The formal test files the ``formal`` suite runs for ``mutation`` (all of them for
    ``everything`` or a mutation without a hint)."""
    if everything or not mutation.formal:
        return sorted(str(p.relative_to(root)) for p in (root / "tests").glob("test_formal_*.py"))
    return [f"tests/{name}" for name in mutation.formal]


def copy_repository(destination):
    """Copy the repository's tracked files (working-tree contents) to ``destination``."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def suite_environment(copy):
    """The suites' environment: the copy first on the import path (also for the simulator's
    embedded Python), no bytecode (a mutant and its original can share size and mtime), and
    ``CI`` set so that a missing formal tool fails instead of skipping."""
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1", CI="1")
    env.pop("TERNARY_ACCEL_BUILD_DIR", None)
    return env


_FAILED = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", re.MULTILINE)
_COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped)")


@dataclasses.dataclass
class Outcome:
    """A suite's verdict on one design: ``killed`` (failed, errored or timed out),
    ``detail`` (the first failing test, or why), ``seconds``."""
    killed: bool
    detail: str
    seconds: float


def run_suite(copy, args, timeout, env):
    """Run ``python -m pytest -x <args>`` in ``copy`` within ``timeout`` seconds."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *args]
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=copy, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return Outcome(True, f"timeout after {timeout:.0f} s", time.monotonic() - start)
    seconds = time.monotonic() - start
    if process.returncode == 0:
        counts = dict((kind, int(n)) for n, kind in _COUNTS.findall(output))
        if not counts.get("passed") or counts.get("skipped"):
            raise RuntimeError(f"pytest {' '.join(args)} ran {counts or 'nothing'} in {copy}: "
                               f"not a verdict\n{output[-2000:]}")
        return Outcome(False, "passed", seconds)
    if process.returncode in (1, 2, 3):
        found = _FAILED.search(output)
        if found:
            detail = re.sub(r"^(tests|cosim)/", "", found.group(1))
        else:
            lines = [line for line in output.splitlines() if "Error" in line]
            detail = (lines[0].strip() if lines else f"exit status {process.returncode}")
        return Outcome(True, detail[:120], seconds)
    raise RuntimeError(f"pytest {' '.join(args)} exited with {process.returncode} in {copy}"
                       f"\n{output[-2000:]}")


def suite_args(name, copy, mutation, all_formal):
    if name == "formal":
        return tuple(formal_files(copy, mutation, all_formal))
    return SUITES[name].args


def check_copy_runs(copy, env, log):
    """The copy's ``rtl`` is what the suites import, and a syntax error in it kills."""
    found = subprocess.run([sys.executable, "-c", "import rtl; print(rtl.__file__)"], cwd=copy,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).resolve().is_relative_to(copy.resolve()):
        raise RuntimeError(f"the suites would import rtl from {found}, not from the copy {copy}")
    broken = Mutation("rtl/pe.py", "def elaborate(self, platform):",
                      "def elaborate(self, platform) syntax error:",
                      "a syntax error (self-check)", "TernaryPE")
    path = copy / broken.file
    original = path.read_text()
    path.write_text(check_mutation(broken, copy))
    try:
        outcome = run_suite(copy, SUITES["amaranth"].args, SUITES["amaranth"].timeout, env)
    finally:
        path.write_text(original)
    if not outcome.killed:
        raise RuntimeError("a syntax error in the copy's rtl/pe.py did not fail the Amaranth "
                           "suite: the copy is not what runs")
    log(f"self-check: rtl imports from {Path(found).parent}; a syntax error in the copy "
        f"fails the Amaranth suite ({outcome.detail})")


def run_mutant(copy, mutation, suites, env, all_suites, all_formal, timeout_factor, log):
    """``{suite: Outcome}`` for ``mutation`` applied in ``copy`` (restored afterwards)."""
    path = copy / mutation.file
    original = path.read_text()
    path.write_text(check_mutation(mutation, copy))
    results = {}
    try:
        for name in suites:
            outcome = run_suite(copy, suite_args(name, copy, mutation, all_formal),
                                SUITES[name].timeout * timeout_factor, env)
            results[name] = outcome
            log(f"  {name}: {'killed by ' + outcome.detail if outcome.killed else 'survived'} "
                f"({outcome.seconds:.0f} s)")
            if outcome.killed and not all_suites:
                break
    finally:
        path.write_text(original)
    return results


def table(rows, suites, all_suites):
    """The markdown table of the results: ``rows`` of ``(index, mutation, {suite: Outcome})``."""
    lines = ["| # | mutation | block | killed by | time |", "|---|---|---|---|---|"]
    for index, mutation, results in rows:
        killers = [(name, results[name]) for name in suites
                   if name in results and results[name].killed]
        if killers:
            name, outcome = killers[0]
            verdict = f"{name}: `{outcome.detail}`"
            if all_suites:
                verdict += "; also " + (", ".join(n for n, _ in killers[1:]) or "no other")
        else:
            verdict = "**survived** (" + ", ".join(results) + ")"
        seconds = sum(outcome.seconds for outcome in results.values())
        lines.append(f"| {index} | {mutation.description} | {mutation.block} | {verdict} | "
                     f"{seconds:.0f} s |")
    return "\n".join(lines)


def summary(rows, suites):
    killed = sum(any(o.killed for o in results.values()) for _, _, results in rows)
    per_suite = ", ".join(
        f"{name} {sum(results.get(name, Outcome(False, '', 0)).killed for _, _, results in rows)}"
        f" of {sum(name in results for _, _, results in rows)} run"
        for name in suites)
    return f"Killed {killed} of {len(rows)} mutants (kills per suite: {per_suite})."


def _index_list(text):
    indexes = []
    for part in text.split(","):
        if not part.strip().isdigit() or not 1 <= int(part) <= len(MUTATIONS):
            raise UsageError(f"--only expects mutation numbers from 1 to {len(MUTATIONS)} "
                             f"separated by commas, not {text!r}")
        if int(part) in indexes:
            raise UsageError(f"--only names mutation {int(part)} twice")
        indexes.append(int(part))
    return indexes


def _run(argv):
    parser = OneLineParser(prog=PROG, description="Mutation score of the benches.")
    parser.add_argument("--only", metavar="N,N,...",
                        help="run only these mutations (numbers of --list)")
    parser.add_argument("--suites", default="amaranth,formal,cocotb",
                        help="suites in order, from amaranth, formal, cocotb")
    parser.add_argument("--all-suites", action="store_true",
                        help="run every suite on every mutant (default: stop at the first kill)")
    parser.add_argument("--all-formal", action="store_true",
                        help="run every formal test file, not only the mutation's hint")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the run of the suites on the unmutated copy")
    parser.add_argument("--timeout-factor", type=positive_number, default=1.0,
                        help="scale every suite's time limit")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    parser.add_argument("--keep", action="store_true", help="keep the copy (its path is logged)")
    args = parser.parse_args(argv)
    suites = [name.strip() for name in args.suites.split(",")]
    for name in suites:
        if name not in SUITES:
            raise UsageError(f"--suites expects names from {', '.join(SUITES)}, not {name!r}")
    if len(set(suites)) != len(suites):
        raise UsageError(f"--suites names a suite twice: {args.suites!r}")
    chosen = _index_list(args.only) if args.only else list(range(1, len(MUTATIONS) + 1))
    for index in chosen:
        try:
            check_mutation(MUTATIONS[index - 1])
        except StaleMutation as error:
            print(f"{PROG}: error: {error}", file=sys.stderr)
            return 1
    if args.list:
        for index in chosen:
            mutation = MUTATIONS[index - 1]
            print(f"{index:3d}  {mutation.file:24s} {mutation.block:17s} {mutation.description}")
        return 0

    def log(text):
        print(text, file=sys.stderr, flush=True)

    copy = Path(tempfile.mkdtemp(prefix="mutation_score_"))
    try:
        copy_repository(copy)
        env = suite_environment(copy)
        log(f"copy of {ROOT} in {copy}")
        check_copy_runs(copy, env, log)
        start = time.monotonic()
        if not args.no_baseline:
            for name in suites:
                sargs = suite_args(name, copy, MUTATIONS[0], True)
                outcome = run_suite(copy, sargs, SUITES[name].timeout * args.timeout_factor,
                                    env)
                log(f"baseline {name}: {'FAILS ' + outcome.detail if outcome.killed else 'passes'}"
                    f" ({outcome.seconds:.0f} s)")
                if outcome.killed:
                    print(f"{PROG}: error: the {name} suite fails on the unmutated copy "
                          f"({outcome.detail}): no mutant can be judged", file=sys.stderr)
                    return 1
        rows = []
        for index in chosen:
            mutation = MUTATIONS[index - 1]
            log(f"[{index}/{len(MUTATIONS)}] {mutation.file}: {mutation.description}")
            results = run_mutant(copy, mutation, suites, env, args.all_suites, args.all_formal,
                                 args.timeout_factor, log)
            rows.append((index, mutation, results))
        print(table(rows, suites, args.all_suites))
        print()
        print(summary(rows, suites))
        print(f"Total {time.monotonic() - start:.0f} s.")
    finally:
        if args.keep:
            log(f"kept the copy in {copy}")
        else:
            shutil.rmtree(copy, ignore_errors=True)
    return 0


def main(argv=None):
    return run_cli(PROG, _run, argv)


if __name__ == "__main__":
    sys.exit(main())
