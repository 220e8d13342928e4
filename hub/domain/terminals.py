"""Who may act through a terminal: only the officer who holds it (custody) at the time. Pure.

A terminal's sign-in or printer pairing names an officer; the terminal itself could name
anyone (issue 12: a sign-in was accepted for any officer id it sent). The custody record says
who was handed the terminal, from when to when; an event from a terminal counts for that
person only, and anything else is refused with the reason (and kept, like other refusals).
"""

from __future__ import annotations


def holder_refusal(terminal_id: str, officer_id: str, holder: str | None) -> str | None:
    """Why ``officer_id`` may not act through the terminal (``holder``: who has it checked out
    at the event's time, None: nobody); None when they may."""
    if holder is None:
        return f"terminal {terminal_id} is not checked out to anyone at that time"
    if holder != officer_id:
        return (
            f"terminal {terminal_id} is checked out to {holder} at that time, not to {officer_id}"
        )
    return None
