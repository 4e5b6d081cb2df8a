"""The plan's reasons as the CLI prints them: tests give a code and its facts, the plan renders
the line (so no test spells the sentence)."""

from __future__ import annotations

from typing import Any

from rlscale.algos.plan import PlanReason, Reason, describe_reason


def said(why: Reason | PlanReason, **facts: Any) -> str:
    """The plan table's line for ``why`` (a :class:`Reason`, or a code and its facts)."""
    if isinstance(why, PlanReason):
        why = Reason(why, facts)
    return f"  - {describe_reason(why)}\n"
