"""Where the independent audit finds what the engine lets through, or cannot audit its log.

The audit (:mod:`collectsim.validation.audit`) is written from the rule texts; the engine's
presets (``PRESETS`` in ``collectsim/scenario/rules.py``) are not, yet. Tests that expect
no violation from the engine are marked here, ``xfail(strict=True)`` with the failure they
expect (``raises``), so that each mark must go once the engine is fixed (``docs/audit.md``,
"What the audit found in the engine"). A marked test asserts everything else first and the
audit last, through :func:`assert_no_violations`, whose :class:`ViolationsFound` is the only
failure the mark accepts: any other failed assertion of the test still fails it. Not a test
module: the marks only.
"""

from __future__ import annotations

import pytest

from collectsim.validation.audit import AuditLogError

#: The engine's contact log has no ``connected`` column: the audit refuses it for the checks
#: that count connected contacts (cn-3-connected-per-day, extra ``max_connects`` rules).
NO_CONNECTED = (
    "the engine's contact log has no 'connected' column (the audit's log contract: cn-3-connected-per-day and "
    "max_connects count connected contacts); once it has, max-legal is expected to fail as PRESET_GAPS and "
    "CN_IVR in tests/engine_gaps.py say, and the other cases to pass"
)
#: What the engine's presets miss, by preset (found with max-legal, which uses IVR).
PRESET_GAPS = {
    "us-reg-f": (
        "engine preset us-reg-f counts only agent calls in reg-f-7-in-7 and reg-f-7-after-conversation, but 12 CFR "
        "1006.14(b)(2) counts telephone calls by any means (IVR too); and its reg-f-opt-out covers sms/email only "
        "while IVR contacts opt debtors out (1006.14(h)(1): no further contact through that medium)"
    ),
    "us-ma": (
        "engine preset us-ma's ma-opt-out covers sms/email only; IVR contacts opt debtors out and the engine keeps "
        "calling them by IVR (1006.14(h)(1), applied by the preset)"
    ),
}
#: The part of the us-reg-f gap that random request streams hit (their opt-outs are SMS/e-mail only).
REG_F_IVR = (
    "engine preset us-reg-f counts only agent calls in reg-f-7-in-7 and reg-f-7-after-conversation, but 12 CFR "
    "1006.14(b)(2) counts telephone calls by any means (IVR too)"
)
#: What the CN preset misses (seen once the log has ``connected``).
CN_IVR = (
    "engine preset cn-gbt-45251 counts only agent calls in cn-6-attempts-per-day and cn-3-connected-per-day; "
    "GB/T 45251 and the CBA guideline count calls by any means, intelligent (automated) voice included"
)


class ViolationsFound(AssertionError):
    """The audit found violations in an engine run (the failure the preset-gap marks expect)."""


def assert_no_violations(violations: dict[str, int]) -> None:
    """Raise :class:`ViolationsFound` when any check of the audit counts a violation."""
    if any(violations.values()):
        raise ViolationsFound(f"the independent audit found violations: {violations}")


def no_connected() -> pytest.MarkDecorator:
    """The mark of a case the audit refuses for want of the ``connected`` column."""
    return pytest.mark.xfail(strict=True, raises=AuditLogError, reason=NO_CONNECTED)


def preset_gap(preset: str) -> pytest.MarkDecorator:
    """The mark of a case whose violations come from the gaps of ``preset``'s engine rules."""
    return pytest.mark.xfail(strict=True, raises=ViolationsFound, reason=PRESET_GAPS[preset])


def reg_f_ivr() -> pytest.MarkDecorator:
    """The mark of a us-reg-f case whose violations are IVR calls counted as telephone calls."""
    return pytest.mark.xfail(strict=True, raises=ViolationsFound, reason=REG_F_IVR)


def cn_ivr() -> pytest.MarkDecorator:
    """The mark of a CN case whose log has ``connected`` and whose violations are IVR calls."""
    return pytest.mark.xfail(strict=True, raises=ViolationsFound, reason=CN_IVR)


def simulated(preset: str, policy: str) -> list[pytest.MarkDecorator]:
    """Marks of an engine run of ``policy`` under ``preset`` that asserts no violation."""
    if preset == "cn-gbt-45251":
        return [no_connected()]
    if preset in PRESET_GAPS and policy == "max-legal":
        return [preset_gap(preset)]
    return []
