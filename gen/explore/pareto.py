"""The Pareto front of a set of points over two or more objectives.

A point is on the front when no other point is at least as good in every objective and
strictly better in one. Points that tie in every objective are all on the front (none
dominates another). Points missing an objective's value (a failed synthesis has no LUT count)
take no part: they are neither on the front nor dominate anything.
"""

import math


__all__ = ["pareto_front"]

_SENSES = ("max", "min")


def pareto_front(points, objectives):
    """The indices (ascending) of the points of ``points`` on the Pareto front.

    Parameters
    ----------
    points : sequence of dict
        Each maps objective names to numbers (or ``None`` / missing).
    objectives : sequence of (str, str)
        ``(key, "max")`` or ``(key, "min")``; at least one.

    Raises
    ------
    TypeError
        ``objectives`` entries that are not ``(key, sense)`` pairs.
    ValueError
        No objective, or a sense other than ``"max"`` and ``"min"``.
    """
    objectives = list(objectives)
    if not objectives:
        raise ValueError("objectives must name at least one (key, 'max' or 'min')")
    for entry in objectives:
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise TypeError(f"an objective must be a (key, sense) pair, not {entry!r}")
        if entry[1] not in _SENSES:
            raise ValueError(f"an objective's sense must be 'max' or 'min', not {entry[1]!r}")
    candidates = []
    for index, point in enumerate(points):
        values = [point.get(key) for key, _ in objectives]
        if any(value is None or not math.isfinite(value) for value in values):
            continue
        # Larger is better for every coordinate.
        candidates.append((index, [v if sense == "max" else -v
                                   for v, (_, sense) in zip(values, objectives)]))

    def dominates(a, b):
        return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))

    return [index for index, values in candidates
            if not any(dominates(other, values) for _, other in candidates)]
