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


def custody_refusal(
    terminal_id: str, officer_id: str, holder_then: str | None, holder_now: str | None
) -> str | None:
    """Why ``officer_id`` may not act through the terminal, judged at both the event's time
    (``holder_then``) and the time the hub receives it (``holder_now``); None when they may.

    The event's ``ts`` is the device's own clock, so the terminal itself chooses it: alone it
    would let whoever holds the terminal now backdate a sign-in or a pairing to a time when
    someone else held it, and act in their name (issue 12, security review). Requiring the
    named officer to hold the terminal now as well closes that. The price, accepted on purpose:
    a terminal that syncs a backlog only after being handed back (or on) has those events
    refused, with the reason below, and kept like every other refusal.
    """
    then = holder_refusal(terminal_id, officer_id, holder_then)
    if then is not None:
        return then
    if holder_now is None:
        return (
            f"terminal {terminal_id} is not checked out to anyone now; an event naming"
            f" {officer_id} is taken only while they still hold the terminal"
        )
    if holder_now != officer_id:
        return (
            f"terminal {terminal_id} is checked out to {holder_now} now, not to {officer_id};"
            f" an event naming {officer_id} is taken only while they still hold the terminal"
        )
    return None
