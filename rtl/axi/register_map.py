"""The control and status registers of the memory-mapped top: the one table of them.

The hardware (:class:`~rtl.axi.registers.Registers`), the manifest, the C header and
``docs/interface.md`` all read :func:`register_map`. Registers are 32 bits at 4-byte offsets
of an AXI4-Lite subordinate; 64-bit addresses are a ``_LO``/``_HI`` pair.
"""

import dataclasses

from ..interface import MAX_WEIGHT_PORTS

__all__ = ["Field", "Register", "ERROR_CAUSES", "FORMAT_CODES", "MAGIC", "VERSION",
           "MAX_WEIGHT_PORTS", "ADDRESS_BITS", "register_map", "register"]

#: ``ID.magic``: "TA" in ASCII.
MAGIC = 0x5441
#: ``ID.version``: the register map's version (2: the job queue, ``STATUS.queued``,
#: ``dropped``, ``refusal``, ``JOBS``, ``FAILURES``, ``CYCLES`` of the last ended job).
VERSION = 2
#: Width of the AXI4-Lite address: the map spans 256 bytes.
ADDRESS_BITS = 8

#: ``STATUS.cause``: why the last start from idle was refused or the last job failed
#: (``STATUS.refusal``: why the last start while busy was refused).
ERROR_CAUSES = {
    0: ("none", "no error since the last accepted start"),
    1: ("size", "M, K or N is 0 or above the design's max_m, max_k or max_n: nothing started"),
    2: ("address", "a base address is 0 or not a multiple of its port's beat bytes: "
                   "nothing started"),
    3: ("busy", "START was written while a job ran and another waited behind it (or the "
                "running job was still being set up): only STATUS.refused and refusal are set "
                "(this code never appears in cause)"),
    4: ("weights_read", "a weight read returned SLVERR or DECERR (STATUS.resp): job ended"),
    5: ("activations_read", "an activation read returned SLVERR or DECERR: job ended"),
    6: ("results_write", "a result write returned SLVERR or DECERR: job ended"),
}

#: ``INFO_FORMAT.format``.
FORMAT_CODES = {"i2": 0, "t5": 1, "int8": 2}


@dataclasses.dataclass(frozen=True)
class Field:
    """Bits ``[lsb + width - 1 : lsb]`` of a register.

    ``access``: ``"rw"`` (read and written by software), ``"ro"`` (read only), ``"wo"``
    (write only: writing 1 acts, it reads as 0), ``"w1c"`` (read; writing 1 clears it).
    ``reset``: the value after reset (for ``ro`` information fields: the design's constant).
    """
    name: str
    lsb: int
    width: int
    access: str
    reset: int
    doc: str


@dataclasses.dataclass(frozen=True)
class Register:
    name: str
    offset: int
    fields: tuple
    doc: str

    @property
    def reset(self):
        return sum(field.reset << field.lsb for field in self.fields)


def _address(name, doc):
    return [Register(f"{name}_LO", 0, (Field("address", 0, 32, "rw", 0, "bits 31:0"),),
                     f"{doc}, bits 31:0"),
            Register(f"{name}_HI", 0, (Field("address", 0, 32, "rw", 0, "bits 63:32"),),
                     f"{doc}, bits 63:32")]


def register_map(config, *, data_port_bits, weight_ports):
    """The registers of the memory-mapped top of ``config`` (an
    :class:`~rtl.config.AccelConfig`), with its data port and number of weight ports, in
    offset order."""
    info = [
        Register("INFO_ARRAY", 0x80, (
            Field("rows", 0, 16, "ro", config.rows, "array rows (K per tile)"),
            Field("cols", 16, 16, "ro", config.cols, "array columns (N per tile)")),
            "the array"),
        Register("INFO_PORTS", 0x84, (
            Field("weight_port_bits", 0, 16, "ro", config.word_bits,
                  "bits of one weight beat (all weight ports together)"),
            Field("data_port_bits", 16, 16, "ro", data_port_bits,
                  "data width of the activation and result port")),
            "port widths"),
        Register("INFO_FORMAT", 0x88, (
            Field("format", 0, 2, "ro", FORMAT_CODES[config.format.name],
                  "weight format: 0 i2, 1 t5, 2 int8"),
            Field("weight_ports", 4, 4, "ro", weight_ports, "AXI4 weight ports"),
            Field("acc_bits", 8, 8, "ro", config.acc_bits, "bits of one result"),
            Field("act_bits", 16, 4, "ro", config.act_bits, "bits of one activation")),
            "formats"),
        Register("INFO_MAX_M", 0x8C, (Field("max_m", 0, 32, "ro", config.max_m, "largest M"),),
                 "largest M"),
        Register("INFO_MAX_K", 0x90, (Field("max_k", 0, 32, "ro", config.max_k, "largest K"),),
                 "largest K"),
        Register("INFO_MAX_N", 0x94, (Field("max_n", 0, 32, "ro", config.max_n, "largest N"),),
                 "largest N"),
    ]
    registers = [
        Register("ID", 0x00, (
            Field("version", 0, 16, "ro", VERSION, "register map version"),
            Field("magic", 16, 16, "ro", MAGIC, "'TA'")),
            "identifies the core"),
        Register("CONTROL", 0x04, (
            Field("start", 0, 1, "wo", 0, "write 1: check the job registers and start a job "
                                          "(while one runs: queue it behind that one)"),
            Field("irq_enable", 1, 1, "rw", 0, "drive irq while IRQ_STATUS.ended is set")),
            "starts a job"),
        Register("STATUS", 0x08, (
            Field("busy", 0, 1, "ro", 0, "a job runs (or waits in the queue)"),
            Field("done", 1, 1, "ro", 0, "the last job that ended ended without error"),
            Field("error", 2, 1, "ro", 0, "the last start from idle was refused or the last "
                                          "job that ended failed"),
            Field("refused", 3, 1, "ro", 0, "a start written while a job ran was refused "
                                            "(ignored; cleared by the next accepted start)"),
            Field("cause", 4, 4, "ro", 0, "ERROR_CAUSES"),
            Field("resp", 8, 2, "ro", 0, "the failing AXI response (2 SLVERR, 3 DECERR)"),
            Field("queued", 10, 1, "ro", 0, "a started job waits behind the running one"),
            Field("dropped", 11, 1, "ro", 0, "the last failure also dropped a queued job, "
                                             "which never ran"),
            Field("refusal", 12, 4, "ro", 0, "ERROR_CAUSES: why the last start while busy was "
                                             "refused (1 size, 2 address, 3 busy)")),
            "state of the core; an accepted start from idle clears done, error, cause, resp, "
            "dropped; any accepted start clears refused and refusal"),
        Register("IRQ_STATUS", 0x0C, (
            Field("ended", 0, 1, "w1c", 0, "a job ended (done or failed) or a start from "
                                           "idle was refused; write 1 to clear"),),
            "interrupt status"),
        Register("M", 0x10, (Field("m", 0, 32, "rw", 0, "activation rows"),),
                 "job size M"),
        Register("K", 0x14, (Field("k", 0, 32, "rw", 0, "inner dimension"),),
                 "job size K"),
        Register("N", 0x18, (Field("n", 0, 32, "rw", 0, "output features"),),
                 "job size N"),
        *_address("ACTIVATIONS", "base address of the activation image"),
        *_address("RESULTS", "base address of the result image"),
        Register("CYCLES_LO", 0x30, (Field("cycles", 0, 32, "ro", 0, "bits 31:0"),),
                 "cycles of the last job that ended: from its start, or from the end of the "
                 "job before it if it was queued, to its end"),
        Register("CYCLES_HI", 0x34, (Field("cycles", 0, 32, "ro", 0, "bits 63:32"),),
                 "cycles, bits 63:32"),
        Register("JOBS", 0x38, (Field("jobs", 0, 32, "ro", 0, "jobs ended (done or failed; "
                                                              "not refused, not dropped) "
                                                              "since reset"),),
                 "jobs ended, modulo 2**32"),
        Register("FAILURES", 0x3C, (
            Field("failed", 0, 16, "ro", 0, "jobs failed since reset, modulo 2**16"),
            Field("cause", 16, 4, "ro", 0, "ERROR_CAUSES of the last failed job"),
            Field("resp", 20, 2, "ro", 0, "its AXI response")),
            "failed jobs; unlike STATUS, never cleared by a start"),
    ]
    for port in range(weight_ports):
        registers += _address(f"WEIGHTS{port}", f"base address of weight port {port}'s image")
    registers += info
    # Place the address pairs: ACTIVATIONS at 0x20, RESULTS at 0x28, WEIGHTS<p> at 0x40 + 8p.
    placed, offsets = [], {"ACTIVATIONS": 0x20, "RESULTS": 0x28}
    offsets.update({f"WEIGHTS{port}": 0x40 + 8 * port for port in range(weight_ports)})
    for reg in registers:
        stem, _, half = reg.name.rpartition("_")
        if stem in offsets and half in ("LO", "HI"):
            reg = dataclasses.replace(reg, offset=offsets[stem] + (4 if half == "HI" else 0))
        placed.append(reg)
    placed.sort(key=lambda reg: reg.offset)
    assert len({reg.offset for reg in placed}) == len(placed)
    assert all(reg.offset < 1 << ADDRESS_BITS for reg in placed)
    return placed


def register(registers, name):
    """The register called ``name`` in a map from :func:`register_map`."""
    for reg in registers:
        if reg.name == name:
            return reg
    raise KeyError(name)
