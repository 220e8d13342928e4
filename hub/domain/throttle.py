"""Login throttling: how long a caller must wait after so many failed attempts. Pure.

OWASP's Authentication Cheat Sheet ("Protect against automated attacks"): a few free attempts,
then a delay that doubles with each failure, up to a ceiling, both per account (a guesser of one
password) and per client address (a guesser of many accounts' passwords, allowed more because a
team's terminals may share one address behind NAT). A success ends the account's run of
failures; the address's run ends only when its failures age out of the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Policy:
    free: int  # failures allowed before any delay
    base_s: float  # the first delay; each further failure doubles it
    cap_s: float  # the longest delay, and how long failures are remembered

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.cap_s)


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed (or throttled) attempts in the window and when the last one was."""

    count: int
    last: datetime | None


def delay_s(policy: Policy, failures: int) -> float:
    """The wait imposed after ``failures`` failures."""
    if failures < policy.free:
        return 0.0
    return float(min(policy.base_s * 2 ** min(failures - policy.free, 60), policy.cap_s))


def wait_s(policy: Policy, failures: Failures, now: datetime) -> float:
    """Seconds left before another attempt is heard (0: go ahead)."""
    if failures.last is None:
        return 0.0
    until = failures.last + timedelta(seconds=delay_s(policy, failures.count))
    return max(0.0, (until - now).total_seconds())
