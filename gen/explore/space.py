"""The points of a sweep: every combination of array shape, PE, weight format, weight port and
synthesis target, each one :class:`~rtl.config.AccelConfig` (or the reason it cannot be
built).

A weight port is given per point as a rule, because the legal widths depend on the shape and
the format (``W`` is the format's word of ``k`` whole tile rows, ``k = 1 .. rows``;
:attr:`AccelConfig.legal_weight_port_bits`):

* ``row``: one tile row per beat (the configuration's default);
* ``tile``: the whole tile per beat (``k = rows``);
* ``<k>rows`` (``4rows``): ``k`` tile rows per beat (refused for a shape with fewer rows);
* ``<W>`` (``512``): exactly ``W`` bits (refused where ``W`` is not legal).

A point that cannot be built keeps its error (the configuration's message) and is reported
as such; it is never synthesized.
"""

import dataclasses
import re

from rtl.config import AccelConfig, ConfigError


__all__ = ["Point", "parse_port", "port_bits", "expand"]

_ROWS = re.compile(r"([1-9][0-9]*)rows?")


@dataclasses.dataclass(frozen=True)
class Point:
    """One point: its axes (``rows``, ``cols``, ``pe``, ``weight_format`` (the resolved
    name), ``port`` (the rule as given), ``target``), and either ``config`` or ``error``."""

    rows: int
    cols: int
    pe: str
    weight_format: str
    port: str
    target: str
    config: AccelConfig | None
    error: str | None

    @property
    def label(self):
        """``16x16 i2 W=512 ecp5`` (the rule when the point has no configuration)."""
        width = f"W={self.config.word_bits}" if self.config is not None else f"port {self.port}"
        kind = self.weight_format if self.pe == "ternary" else "int8-PE"
        return f"{self.rows}x{self.cols} {kind} {width} {self.target}"


def parse_port(text):
    """Check a port rule (see the module docstring) and return it normalized (``4rows``,
    ``row``, ``tile``, ``512``); ``ValueError`` for anything else."""
    if text in ("row", "tile"):
        return text
    match = _ROWS.fullmatch(text)
    if match:
        return f"{int(match.group(1))}rows"
    if text.isdigit() and int(text) > 0:
        return str(int(text))
    raise ValueError(f"expected row, tile, <k>rows (such as 4rows) or a width in bits "
                     f"(such as 512), not {text!r}")


def port_bits(rule, rows, cols, weight_format, pe):
    """The ``weight_port_bits`` of a rule for one shape and format: ``None`` for ``row``;
    ``ConfigError`` (field ``weight_port_bits``) for ``<k>rows`` with ``k > rows``."""
    if rule == "row":
        return None
    base = AccelConfig(rows=rows, cols=cols, pe=pe, weight_format=weight_format)
    if rule == "tile":
        return base.format.word_bits(rows * cols)
    if rule.endswith("rows"):
        k = int(rule[:-4])
        if k > rows:
            raise ConfigError(f"weight_port_bits of {k} rows per beat needs at least {k} "
                              f"array rows, not {rows}", field="weight_port_bits")
        return base.format.word_bits(k * cols)
    return int(rule)


def expand(shapes, pes, formats, ports, targets):
    """Every point of the sweep, in order (shape, then PE, format, port, target). The int8 PE
    has one format (``int8``), so the format axis does not multiply its points; a repeated
    combination appears once.

    ``shapes`` is a sequence of ``(rows, cols)``; ``ports`` rules as :func:`parse_port`
    returns them.
    """
    points, seen = [], set()
    for rows, cols in shapes:
        for pe in pes:
            for weight_format in (formats if pe == "ternary" else ("int8",)):
                for port in ports:
                    for target in targets:
                        key = (rows, cols, pe, weight_format, port, target)
                        if key in seen:
                            continue
                        seen.add(key)
                        try:
                            bits = port_bits(port, rows, cols, weight_format, pe)
                            config = AccelConfig(rows=rows, cols=cols, pe=pe,
                                                 weight_format=weight_format,
                                                 weight_port_bits=bits)
                            error = None
                        except ConfigError as failure:
                            config, error = None, str(failure)
                        points.append(Point(rows, cols, pe, weight_format, port, target,
                                            config, error))
    return points
