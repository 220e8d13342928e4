"""Who is asking: the account, its role and the org units it reaches. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from hub.domain.errors import Forbidden, NotFound
from hub.domain.roles import Action, Role, allowed

R = TypeVar("R", bound=Mapping[str, Any])


@dataclass(frozen=True, slots=True)
class Principal:
    username: str
    role: Role
    org_unit_id: str
    scope: frozenset[str]  # its unit and every unit below it
    staff_id: str | None = None

    def require(self, action: Action) -> None:
        if not allowed(self.role, action):
            raise Forbidden(f"role {self.role.value} may not {action.value}")

    def visible(self, row: R | None, what: str) -> R:
        """``row`` if it exists and its ``org_unit_id`` is in reach; else ``NotFound``."""
        self.reach(row["org_unit_id"] if row is not None else None, what)
        assert row is not None
        return row

    def reach(self, org_unit_id: str | None, what: str) -> None:
        """Refuse an object outside the caller's units, as if it did not exist (no leak)."""
        if org_unit_id is None or org_unit_id not in self.scope:
            raise NotFound(f"{what} not found")
