"""The one error type a user ever sees.

Every validation failure at a boundary (scenario files, policy files, command-line
options, output folders) is raised as :class:`InputError` with a single line that names
the field, the value and what is allowed. The CLI prints that line and exits with code 2.
"""

from __future__ import annotations

from typing import Any

__all__ = ["InputError", "from_pydantic"]


class InputError(ValueError):
    """Bad input: the message is one line naming the field, the value and what is allowed."""


def from_pydantic(exc: Any, source: str = "", prefix: str = "") -> InputError:
    """Turn the first error of a ``pydantic.ValidationError`` into a one-line :class:`InputError`.

    Parameters
    ----------
    exc:
        The ``pydantic.ValidationError``.
    source:
        Where the data came from (a file name), prefixed to the message.
    prefix:
        Dotted path of the validated table within its file (e.g. ``run``).
    """
    err = exc.errors()[0]
    loc = ".".join([prefix] * bool(prefix) + [str(p) for p in err.get("loc", ()) if p != "__root__"])
    msg = err.get("msg", "invalid value")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    value = err.get("input")
    if err.get("type") == "extra_forbidden":
        table = ".".join(p for p in loc.split(".")[:-1] if not p.isdigit())
        line = f"unknown key '{loc}' (a typo?); `collectsim schema {table}` lists the allowed fields" if table else (
            f"unknown key '{loc}' (a typo?); `collectsim schema` lists the tables")
    elif err.get("type") == "missing":
        line = f"{loc}: missing required field"
    else:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        line = f"{loc} = {shown}: {msg}" if loc else f"{msg}"
    if source:
        line = f"{source}: {line}"
    return InputError(line.replace("\n", " "))
