"""Compiled kernels: the one way collectsim compiles its hot loops (numba).

Every daily behaviour step, rule screen, queue sort and KPI pass is a small function
decorated with :func:`njit`. Without numba installed the functions run as plain (slow)
Python, with the same results.
"""

from __future__ import annotations

try:  # numba compiles the daily kernels; without it they run as (slow) plain Python
    from numba import njit as _numba_njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency
    _numba_njit = None
    HAVE_NUMBA = False

__all__ = ["njit", "HAVE_NUMBA"]


def njit(fn=None, **kw):
    """``numba.njit(cache=True, error_model="numpy")``, or the plain function without numba.

    ``error_model="numpy"``: a division by zero gives inf/nan instead of raising, so
    divisions carry no zero check (the kernels never divide by zero: κ > 0 and
    instalments >= 1 cent are validated).
    """
    if fn is None:
        return lambda f: njit(f, **kw)
    if _numba_njit is None:  # pragma: no cover
        return fn
    return _numba_njit(cache=True, error_model="numpy", **kw)(fn)
