"""The one command-line pattern of the project's tools: bad input is one line and exit 2.

``python -m gen``, ``python -m golden.generate`` and ``python -m cosim.transformer`` share
it. It lives in golden because golden imports nothing of the project and every other package
may import golden.

A tool builds an :class:`OneLineParser`, raises :class:`UsageError` for anything it refuses,
and runs its body through :func:`run_cli`, which turns a ``UsageError`` into
``PROG: error: <message>`` on stderr and exit status 2 (never a traceback)::

    def main(argv=None):
        return run_cli(PROG, _run, argv)

Option value types (:func:`integer`, :func:`positive_number` ...) give argparse messages
that name the value; :func:`option_name` turns a configuration field (``max_k``) into its
option (``--max-k``), so an error that carries its field (``error.field``) is reported
under the option's name without rewriting messages.
"""

import argparse
import math
import os
import sys


__all__ = ["UsageError", "OneLineParser", "run_cli", "one_line", "integer", "integer_range",
           "positive_number", "option_name", "field_usage_error", "check_output_file",
           "check_output_folder"]


class UsageError(Exception):
    """A one-line user error: the tool prints it and exits with status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` instead of printing the
    usage block and exiting."""

    def error(self, message):
        raise UsageError(message)


def run_cli(prog, body, argv=None):
    """Run ``body(argv)`` and return its exit status (``None`` counts as 0); a
    :class:`UsageError` prints ``prog: error: <message>`` on stderr and returns 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        status = body(argv)
    except UsageError as error:
        print(f"{prog}: error: {one_line(str(error))}", file=sys.stderr)
        return 2
    return 0 if status is None else status


#: What ``str.splitlines`` splits at; :func:`one_line` writes them as escapes.
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def one_line(text):
    """``text`` with its line breaks written as escapes (``\\n``), so that a message that
    quotes user input (an unrecognized argument, a path) stays one line."""
    return "".join(repr(c)[1:-1] if c in _LINE_BREAKS else c for c in text)


def integer(text):
    """An argparse type: a base-10 integer."""
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from None


def integer_range(low, high=None):
    """An argparse type: a base-10 integer from ``low`` to ``high`` (no upper bound when
    ``high`` is None)."""
    def parse(text):
        value = integer(text)
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"expected an integer {span}, not {text!r}")
        return value
    parse.__name__ = "integer"
    return parse


def positive_number(text):
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, not {text!r}")
    return value


def option_name(field):
    """The command-line option of a configuration field: ``max_k`` -> ``--max-k``."""
    return "--" + field.replace("_", "-")


def field_usage_error(error):
    """A :class:`UsageError` for a refused configuration field: the error's message with its
    ``field`` (``error.field``, e.g. ``max_k``) named as the option (``--max-k must be ...``);
    the message unchanged when it names no field."""
    message = str(error)
    field = getattr(error, "field", None)
    if field is not None and message.startswith(field):
        message = option_name(field) + message[len(field):]
    return UsageError(message)


def check_output_folder(folder, what="output folder"):
    """Raise :class:`UsageError` unless ``folder`` is a writable folder or can be created."""
    if not folder:
        raise UsageError(f"{what} must not be empty")
    if os.path.exists(folder):
        if not os.path.isdir(folder):
            raise UsageError(f"{what} {folder!r} exists and is not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"{what} {folder!r} is not writable")
        return
    parent = os.path.dirname(os.path.abspath(folder))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise UsageError(f"cannot create {what} {folder!r}: {parent!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot create {what} {folder!r}: {parent!r} is not writable")


def check_output_file(path, option):
    """Raise :class:`UsageError` (naming ``option``) unless a file can be written at ``path``:
    not a folder, a file name (not empty, not ending in a separator), its folder exists and
    is writable, an existing file is writable, and the file can be opened for writing
    (without changing an existing one; a file created to find out is removed)."""
    if os.path.isdir(path):
        raise UsageError(f"{option} {path!r} is a folder, not a file")
    if not path or path.endswith(tuple(filter(None, (os.sep, os.altsep)))):
        raise UsageError(f"{option} {path!r} is not a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {option} {path!r}: its folder does not exist")
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {option} {path!r}: the file is not writable")
    elif not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {option} {path!r}: its folder is not writable")
    # access() cannot tell everything (a folder such as /proc that refuses new files, or any
    # folder for root): open the file as the writer will, creating nothing that stays.
    created = not os.path.exists(path)
    try:
        with open(path, "xb" if created else "ab"):
            pass
    except OSError as error:
        raise UsageError(f"cannot write {option} {path!r}: "
                         f"{error.strerror or error}") from None
    if created:
        os.remove(path)
