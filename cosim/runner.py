"""Run cocotb tests in a built simulator: the one job runner of ``run_gemm``, the transformer
co-simulation and the benches.

A :class:`SimulatorJob` owns one run folder (a temporary folder under the build, removed
afterwards, or a kept folder for a bench), passes the configuration and the job file to the
cocotb process through the environment, runs the simulator with its output in ``sim.log``
(never on this process's standard output), and turns every way a run can fail (the simulator
exits, a cocotb test fails, no test ran) into one :class:`SimulationError` that names the log,
kept beside the build when the run folder goes away::

    build = build_simulator("top", verilog, config.name)
    with SimulatorJob(build, "gemm") as job:
        np.savez(job.path("job.npz"), x=x, w=w)
        job.run("cosim._gemm_job", config=config.as_dict(), job_file="job.npz")
        result = np.load(job.path("result.npz"))

Inside the simulator, :func:`job_config` and :func:`job_file` read what the runner passed.
"""

import json
import os
import pathlib
import shutil
import sys
import tempfile
import time



__all__ = ["CONFIG_VARIABLE", "JOB_VARIABLE", "SEED_VARIABLE", "SimulationError",
           "SimulatorJob", "job_config", "job_file", "progress"]

#: The configuration of a run, as JSON (read with :func:`job_config`).
CONFIG_VARIABLE = "TERNARY_ACCEL_BENCH_CONFIG"
#: The absolute path of a job's input file (read with :func:`job_file`).
JOB_VARIABLE = "TERNARY_ACCEL_JOB"
#: A random seed to replay (passed on to the simulator when set).
SEED_VARIABLE = "TERNARY_ACCEL_SEED"
#: Marks the simulator's progress lines on its standard error (see :func:`progress`).
PROGRESS_PREFIX = "progress| "


class SimulationError(RuntimeError):
    """A co-simulation failed; the message names the reason and the log."""


class SimulatorJob:
    """One run of cocotb tests in the simulator of a :class:`cosim.build.SimulatorBuild`.

    Parameters
    ----------
    build : cosim.build.SimulatorBuild
    name : str
        Names the runs folder (``<build>/<name>-runs``) and the log kept after a failure
        (``<build>/<name>-failed.log``).
    folder : path or None, keyword-only
        A run folder to keep (a bench's); by default a temporary folder, removed when the
        ``with`` block ends.
    """

    def __init__(self, build, name, *, folder=None):
        self.build = build
        self.name = name
        self._keep = folder is not None
        self._temporary = None
        self.folder = pathlib.Path(folder) if folder is not None else None

    def __enter__(self):
        if not self._keep:
            runs = self.build.folder / f"{self.name}-runs"
            runs.mkdir(exist_ok=True)
            self._temporary = tempfile.TemporaryDirectory(dir=runs)
            self.folder = pathlib.Path(self._temporary.name)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exception):
        if self._temporary is not None:
            self._temporary.cleanup()

    def path(self, name):
        """A file in the run folder."""
        return self.folder / name

    @property
    def log(self):
        return self.path("sim.log")

    def run(self, module, *, config=None, job_file=None, env=None, test_filter=None,
            plusargs=(), show_progress=False, log_to_file=True):
        """Run the cocotb tests of ``module``; return the number of tests that ran (all
        passed).

        ``config`` (JSON-able) and ``job_file`` (a name in the run folder) reach the tests
        through :func:`job_config` and :func:`job_file`; ``env`` adds variables; ``plusargs``
        go to the simulator's command line (``+verilator+seed+N`` ...). ``module`` may be a
        list of modules. The
        simulator's output goes to ``sim.log`` in the run folder; with ``show_progress``, the
        lines the tests print with :func:`progress` also reach this process's standard error.
        ``log_to_file=False`` leaves all output to this process (a bench under pytest, which
        captures it).

        Raises :class:`SimulationError` if the simulator fails, a test fails or no test ran.
        """
        from cocotb_tools.runner import get_results
        from .build import TopPortsVerilator, verilator_environment, waves_requested

        verilator_environment()
        variables = dict(env or {})
        if config is not None:
            variables[CONFIG_VARIABLE] = json.dumps(config)
        if job_file is not None:
            variables[JOB_VARIABLE] = str(self.path(job_file))
        if SEED_VARIABLE in os.environ:
            variables[SEED_VARIABLE] = os.environ[SEED_VARIABLE]
        results = self.path("results.xml")
        runner = TopPortsVerilator()
        runner.console_prefix = PROGRESS_PREFIX if show_progress else None
        stopped = None
        try:
            runner.test(test_module=module, hdl_toplevel=self.build.toplevel,
                        hdl_toplevel_lang="verilog", build_dir=self.build.folder,
                        test_dir=self.folder, extra_env=variables, test_filter=test_filter,
                        plusargs=list(plusargs), waves=waves_requested(),
                        results_xml=str(results), log_file=self.log if log_to_file else None)
        except (SystemExit, RuntimeError) as error:   # cocotb's runner exits on a failure
            stopped = f"the simulator stopped ({error})"
        try:
            total, failed = get_results(results)
        except (RuntimeError, OSError):
            total, failed = None, None
        if failed:
            self._fail(f"{failed} of {total} cocotb tests failed")
        if stopped or total is None:
            self._fail(stopped or "the simulator wrote no results")
        if total == 0:
            self._fail(f"no cocotb test of {module} matched {test_filter!r}")
        return total

    def _fail(self, problem):
        reason, log = problem, self.log
        if log.exists():
            for line in log.read_text(errors="replace").splitlines():
                if "Mismatch:" in line or "Error:" in line:
                    reason = line.strip()        # the last one: a traceback's conclusion
            if not self._keep:
                kept = self.build.folder / f"{self.name}-failed.log"
                shutil.copyfile(log, kept)
                log = kept
            where = f"log: {log}"
        else:
            where = f"run folder: {self.folder}"
        raise SimulationError(f"co-simulation failed: {reason}; {where}")


def job_config():
    """Inside the simulator: the ``config`` passed to :meth:`SimulatorJob.run`."""
    return json.loads(os.environ[CONFIG_VARIABLE])


def job_file():
    """Inside the simulator: the absolute path of the job file (results go beside it)."""
    return pathlib.Path(os.environ[JOB_VARIABLE])


def progress(text):
    """Inside the simulator: a progress line, shown on the user's standard error when the
    job runs with ``show_progress`` (and kept in ``sim.log`` in any case)."""
    print(f"{PROGRESS_PREFIX}  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr,
          flush=True)
