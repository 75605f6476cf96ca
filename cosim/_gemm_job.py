"""The cocotb test that :func:`cosim.run_gemm` runs inside the simulator, as a session
(:mod:`cosim.session`): it connects to the host's port, resets the harness wrapper once, and
then, for each line ``run <max_cycles>`` it receives, starts the harness on the job files the
host has written into the working folder and waits for ``finished`` (:meth:`HarnessDriver.run`:
no Python per cycle), answering ``<cycles> <jobs>``. The host closing the connection ends the
test; a stalled job fails it (the host then finds the simulator gone and reports the log).

It imports nothing but cocotb and the harness driver, so that the simulator starts fast.
"""

import os
import socket

import cocotb

from .harness_driver import HarnessDriver


@cocotb.test()
async def gemm_session(dut):
    port = int(os.environ["TERNARY_ACCEL_SESSION_PORT"])     # cosim.session.PORT_VARIABLE
    driver = HarnessDriver(dut)
    await driver.reset()
    with socket.create_connection(("127.0.0.1", port)) as connection, \
            connection.makefile("rw", encoding="ascii") as stream:
        for line in stream:     # blocks the simulation, which has nothing else to do
            command, max_cycles = line.split()
            if command != "run":
                raise ValueError(f"unknown session command {command!r}")
            cycles, jobs = await driver.run(max_cycles=int(max_cycles))
            stream.write(f"{cycles} {jobs}\n")
            stream.flush()
