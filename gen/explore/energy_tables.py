"""Per-operation energies, each with its source: the tables the energy model prices activity
with (:mod:`gen.explore.energy`, ``docs/energy.md``).

Two tables, selectable by name (:data:`TABLES`, :func:`energy_table`):

``"horowitz-45nm"``
    M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
    the table of energy per operation at 45 nm, 0.9 V: integer and floating-point adds and
    multiplies, 64-bit SRAM reads by array size, DRAM per 64 bits.
``"bitnet-7nm"``
    The seed paper's 7 nm arithmetic (BitNet b1.58, "The Era of 1-bit LLMs", Ma et al.
    2024, which follows the energy model of Horowitz 2014 and Zhang et al. 2022): INT8 add
    and multiply, FP16 add and multiply. It has no memory, no register and no 32-bit
    integer figure; those entries are derived, and marked so.

Every :class:`Cost` carries its source; a derived value (``assumption=True``) says how it was
derived from cited ones. Energies are in picojoules.
"""

from dataclasses import dataclass
import math


__all__ = ["Cost", "EnergyTable", "TABLES", "energy_table", "HOROWITZ_45NM", "BITNET_7NM"]


HOROWITZ = "Horowitz, ISSCC 2014, 45 nm table"
SEED = "BitNet b1.58 (Ma et al. 2024), 7 nm table"


@dataclass(frozen=True)
class Cost:
    """One energy: ``pj`` picojoules per operation (or per the unit the table names), where it
    comes from, and whether it is derived rather than read from the source."""

    pj: float
    source: str
    assumption: bool = False


@dataclass(frozen=True)
class EnergyTable:
    """Energies per operation, by name.

    Attributes
    ----------
    name : str
        The key in :data:`TABLES`.
    title : str
        One line on the source.
    int8_add, int32_add, int8_mul, fp16_add, fp16_mul : Cost
        One operation each.
    register_bit : Cost
        One flip-flop bit clocked (written) once.
    sram_64b : tuple of (int, Cost)
        A 64-bit SRAM read by array size in bytes, ascending; :meth:`sram_pj_per_bit`
        interpolates between them.
    dram_64b : Cost
        A 64-bit DRAM access.
    """

    name: str
    title: str
    int8_add: Cost
    int32_add: Cost
    int8_mul: Cost
    fp16_add: Cost
    fp16_mul: Cost
    register_bit: Cost
    sram_64b: tuple
    dram_64b: Cost

    def sram_pj_per_bit(self, capacity_bits):
        """Picojoules per bit read or written in an SRAM of ``capacity_bits``: the 64-bit read
        of the table's sizes, interpolated linearly in log(size) / log(energy) between them
        (Horowitz's three points grow about as the square root of the size) and held at the
        end points outside them (a memory smaller than the smallest size is charged as that
        size, an overestimate). A write is charged as a read (an assumption: the tables give
        reads only)."""
        if isinstance(capacity_bits, bool) or not isinstance(capacity_bits, int):
            raise TypeError(f"capacity_bits must be a positive integer, not {capacity_bits!r}")
        if capacity_bits < 1:
            raise ValueError(f"capacity_bits must be a positive integer, not {capacity_bits}")
        size = capacity_bits / 8
        points = [(bytes_, cost.pj) for bytes_, cost in self.sram_64b]
        if size <= points[0][0]:
            return points[0][1] / 64
        for (s0, e0), (s1, e1) in zip(points, points[1:]):
            if size <= s1:
                slope = math.log(e1 / e0) / math.log(s1 / s0)
                return e0 * (size / s0) ** slope / 64
        return points[-1][1] / 64

    @property
    def dram_pj_per_bit(self):
        """Picojoules per DRAM bit: the 64-bit access over 64."""
        return self.dram_64b.pj / 64

    def rows(self):
        """``(entry, pJ, source, assumption)`` for every entry, in table order (the doc's
        tables are printed from this)."""
        rows = [(label, getattr(self, field)) for label, field in (
            ("INT8 add", "int8_add"), ("INT32 add", "int32_add"), ("INT8 multiply", "int8_mul"),
            ("FP16 add", "fp16_add"), ("FP16 multiply", "fp16_mul"),
            ("register bit written", "register_bit"))]
        rows += [(f"SRAM 64-bit read, {_size(size)}", cost) for size, cost in self.sram_64b]
        rows.append(("DRAM 64-bit access", self.dram_64b))
        return [(label, cost.pj, cost.source, cost.assumption) for label, cost in rows]


def _size(size):
    return f"{size // 1024 // 1024} MB" if size >= 1 << 20 else f"{size // 1024} KB"


_KB, _MB = 1 << 10, 1 << 20

#: Horowitz's 45 nm values.
_H = {
    "int8_add": Cost(0.03, f"{HOROWITZ}: 8b add 0.03 pJ"),
    "int32_add": Cost(0.1, f"{HOROWITZ}: 32b add 0.1 pJ"),
    "int8_mul": Cost(0.2, f"{HOROWITZ}: 8b mult 0.2 pJ"),
    "fp16_add": Cost(0.4, f"{HOROWITZ}: 16b FP add 0.4 pJ"),
    "fp16_mul": Cost(1.1, f"{HOROWITZ}: 16b FP mult 1.1 pJ"),
    "sram": ((8 * _KB, Cost(10.0, f"{HOROWITZ}: 64-bit read of an 8 KB SRAM 10 pJ")),
             (32 * _KB, Cost(20.0, f"{HOROWITZ}: 64-bit read of a 32 KB SRAM 20 pJ")),
             (1 * _MB, Cost(100.0, f"{HOROWITZ}: 64-bit read of a 1 MB SRAM 100 pJ"))),
    "dram": Cost(1300.0, f"{HOROWITZ}: DRAM 1.3-2.6 nJ per 64 bits; the low end, 1.3 nJ"),
}

HOROWITZ_45NM = EnergyTable(
    name="horowitz-45nm",
    title="Horowitz, Computing's energy problem, ISSCC 2014 (45 nm, 0.9 V)",
    int8_add=_H["int8_add"], int32_add=_H["int32_add"], int8_mul=_H["int8_mul"],
    fp16_add=_H["fp16_add"], fp16_mul=_H["fp16_mul"],
    register_bit=Cost(_H["int8_add"].pj / 8,
                      "assumed: one bit-slice of the 8b add (0.03 pJ / 8); the table has no "
                      "flip-flop figure", assumption=True),
    sram_64b=_H["sram"],
    dram_64b=_H["dram"],
)

#: The seed's 7 nm arithmetic.
_S = {
    "int8_add": Cost(0.007, f"{SEED}: INT8 add 0.007 pJ"),
    "int8_mul": Cost(0.07, f"{SEED}: INT8 mult 0.07 pJ"),
    "fp16_add": Cost(0.16, f"{SEED}: FP16 add 0.16 pJ"),
    "fp16_mul": Cost(0.34, f"{SEED}: FP16 mult 0.34 pJ"),
}

#: How much less the seed's 7 nm table charges than Horowitz's 45 nm for its least-scaled
#: operation (the FP16 add, 0.16 / 0.4): on-chip memory at 7 nm is assumed to scale no
#: better than the least-scaled logic (0.23-0.4 across its four operations).
SRAM_7NM_SCALE = _S["fp16_add"].pj / _H["fp16_add"].pj

BITNET_7NM = EnergyTable(
    name="bitnet-7nm",
    title="BitNet b1.58's 7 nm arithmetic (Ma et al. 2024); memory derived from Horowitz 2014",
    int8_add=_S["int8_add"],
    int32_add=Cost(_S["int8_add"].pj * _H["int32_add"].pj / _H["int8_add"].pj,
                   f"assumed: the INT8 add 0.007 pJ times Horowitz's 45 nm ratio of a 32b to "
                   f"an 8b add (0.1 / 0.03); the seed table has no 32-bit integer add",
                   assumption=True),
    int8_mul=_S["int8_mul"], fp16_add=_S["fp16_add"], fp16_mul=_S["fp16_mul"],
    register_bit=Cost(_S["int8_add"].pj / 8,
                      "assumed: one bit-slice of the INT8 add (0.007 pJ / 8)", assumption=True),
    sram_64b=tuple(
        (size, Cost(cost.pj * SRAM_7NM_SCALE,
                    f"assumed: Horowitz's {cost.pj:g} pJ ({_size(size)}) times 0.4, the seed "
                    f"table's least 45-to-7 nm reduction (FP16 add 0.4 -> 0.16 pJ)",
                    assumption=True))
        for size, cost in _H["sram"]),
    dram_64b=Cost(_H["dram"].pj,
                  "assumed: Horowitz's 1.3 nJ per 64 bits unchanged; a DRAM access is spent in "
                  "the DRAM and its interface, not in the accelerator's process",
                  assumption=True),
)

#: The tables by name.
TABLES = {table.name: table for table in (HOROWITZ_45NM, BITNET_7NM)}


def energy_table(name):
    """The :class:`EnergyTable` called ``name`` (a key of :data:`TABLES`), or the table itself
    when given one.

    Raises
    ------
    TypeError
        ``"table must be 'horowitz-45nm' or 'bitnet-7nm', not 3"``.
    ValueError
        ``"table must be 'horowitz-45nm' or 'bitnet-7nm', not 'x'"``.
    """
    if isinstance(name, EnergyTable):
        return name
    known = " or ".join(repr(key) for key in TABLES)
    if not isinstance(name, str):
        raise TypeError(f"table must be {known}, not {name!r}")
    if name not in TABLES:
        raise ValueError(f"table must be {known}, not {name!r}")
    return TABLES[name]
