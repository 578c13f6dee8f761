"""Reading the user's TOML files, with the one-line errors every boundary gives."""

from __future__ import annotations

import tomllib
from pathlib import Path

from collectsim.errors import InputError

__all__ = ["read_toml"]


def read_toml(path: str | Path, field: str) -> dict:
    """Parse the TOML file ``path``; ``field`` names it in errors (e.g. ``experiment``)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{field} = {str(path)!r}: no such file")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{p}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a text (UTF-8) file") from None
