"""Argument checks shared by the hardware blocks, with their exact messages.

A wrong type raises ``TypeError``, a wrong value (out of range, or contradicting another
argument) ``ValueError``; ``tests/test_block_arguments.py`` asserts every message. The
accelerator-wide parameters are checked once, by :class:`~rtl.config.AccelConfig`; these checks
guard the leaf blocks, which take a few plain numbers.
"""

from amaranth.hdl import Shape


__all__ = ["check_integer", "check_bool", "check_choice", "check_shape", "check_config"]


def check_integer(name, value, minimum, maximum=None):
    """``value`` is an ``int`` (not a ``bool``) of at least ``minimum`` (and at most
    ``maximum``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an integer from {minimum} to {maximum}, not {value}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def check_bool(name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {value!r}")
    return value


def check_choice(name, value, choices):
    """``value`` is a string among ``choices``."""
    text = " or ".join(repr(choice) for choice in choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be {text}, not {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be {text}, not {value!r}")
    return value


def check_shape(name, value):
    """``value`` is shape-castable (an ``int`` width, ``range``, ``Shape``, layout ...)."""
    try:
        Shape.cast(value)
    except TypeError:
        raise TypeError(f"{name} must be a shape, not {value!r}") from None
    return value


def check_config(value, name="config"):
    from .config import AccelConfig
    if not isinstance(value, AccelConfig):
        raise TypeError(f"{name} must be an AccelConfig, not {value!r}")
    return value
