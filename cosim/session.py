"""A simulator kept running between GEMMs: the start-up of a simulator process (about half a
second, most of it cocotb importing pytest) is paid once per Python process and build, not
once per :func:`cosim.run_gemm` call.

A :class:`HarnessSession` starts the harness build's simulator (:class:`cosim.runner.SimulatorJob`,
in a thread) with the cocotb test :func:`cosim._gemm_job.gemm_session`, which connects back
to this process over a local TCP socket (the port in :data:`PORT_VARIABLE`). Each
:meth:`HarnessSession.run` writes nothing itself: the caller has written the job's files into
:attr:`HarnessSession.folder` (:func:`cosim.harness.write_stimulus`); the session sends one
line ``run <max_cycles>`` and the simulator answers ``<cycles> <jobs>`` when the harness has
finished. Closing the connection ends the test and the simulator. If the simulator stops
(a stalled job, a crash), the connection closes, and :meth:`run` raises the runner's
:class:`cosim.runner.SimulationError`, which names the log.

:func:`session_for` keeps one session per build for the life of the process (closed at
exit, or by :func:`close_sessions`).
"""

import atexit
import socket
import threading

from .runner import SimulationError, SimulatorJob


__all__ = ["PORT_VARIABLE", "HarnessSession", "session_for", "close_sessions"]

#: The environment variable that tells the simulator which local port to connect to.
PORT_VARIABLE = "TERNARY_ACCEL_SESSION_PORT"

#: The simulator process's environment: no pytest assertion rewriting of the modules it
#: imports (the job module asserts nothing; the hook costs a third of a second).
FAST_START = {"COCOTB_REWRITE_ASSERTION_FILES": ""}

_POLL_SECONDS = 0.05


class HarnessSession:
    """One running simulator of a harness build (:class:`cosim.build.SimulatorBuild`).

    ``with HarnessSession(build) as session:`` starts it; :attr:`folder` is its working
    folder (temporary, removed at :meth:`close`).
    """

    def __init__(self, build):
        self.build = build
        self._job = SimulatorJob(build, "gemm")
        self._thread = None
        self._error = None
        self._connection = None
        self._replies = None
        #: Held while a caller writes a job's files and runs it (re-entrant).
        self.lock = threading.RLock()

    @property
    def folder(self):
        return self._job.folder

    @property
    def alive(self):
        return self._connection is not None and self._thread.is_alive()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exception):
        self.close()

    def start(self):
        """Start the simulator and wait until its test has connected. Raises
        :class:`~cosim.runner.SimulationError` if it stops first."""
        self._job.__enter__()
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(_POLL_SECONDS)
        port = server.getsockname()[1]
        self._thread = threading.Thread(target=self._simulate, args=(port,), daemon=True)
        self._thread.start()
        try:
            while self._connection is None:
                try:
                    self._connection, _ = server.accept()
                except socket.timeout:
                    if not self._thread.is_alive():
                        self._stopped()
        finally:
            server.close()
        self._connection.settimeout(None)
        self._replies = self._connection.makefile("r", encoding="ascii")

    def _simulate(self, port):
        try:
            self._job.run("cosim._gemm_job", test_filter="gemm_session",
                          env={**FAST_START, PORT_VARIABLE: str(port)})
        except SimulationError as error:
            self._error = error

    def _stopped(self):
        """The simulator has stopped (or stops now): raise its error."""
        self._thread.join()
        self._drop()
        self._job.__exit__(None, None, None)
        raise self._error or SimulationError(
            f"co-simulation failed: the simulator stopped; log: {self._job.log}")

    def _drop(self):
        if self._connection is not None:
            self._replies.close()
            self._connection.close()
            self._connection = None

    def run(self, max_cycles):
        """Run the jobs whose files are in :attr:`folder`: ``(cycles, jobs)``, as the harness
        counted them. Raises :class:`~cosim.runner.SimulationError` (the session is then
        closed) if the simulator stops instead, e.g. after ``max_cycles`` without the
        harness finishing."""
        with self.lock:
            if self._connection is None:
                raise RuntimeError("the simulator session is closed")
            try:
                self._connection.sendall(f"run {int(max_cycles)}\n".encode())
                reply = self._replies.readline()
            except OSError:
                reply = ""
            if not reply:
                self._stopped()
            cycles, jobs = (int(part) for part in reply.split())
            return cycles, jobs

    def close(self):
        """End the test and the simulator, and remove the working folder."""
        with self.lock:
            if self._thread is None:
                return
            self._drop()
            self._thread.join()
            self._thread = None
            self._job.__exit__(None, None, None)


_SESSIONS = {}
_SESSIONS_LOCK = threading.Lock()


def session_for(build):
    """The live :class:`HarnessSession` of ``build`` in this process, started if needed."""
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(build.folder)
        if session is None or not session.alive:
            session = HarnessSession(build)
            session.start()
            _SESSIONS[build.folder] = session
        return session


def close_sessions():
    """Close every session of this process (also done at exit)."""
    with _SESSIONS_LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for session in sessions:
        session.close()


atexit.register(close_sessions)
