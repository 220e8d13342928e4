"""Every audit action the code can write has a display name in both languages (issue 14: the
audit page and its exports show names, not codes).

The actions are collected from the source: every ``audit.record(...)`` / ``audit.row(...)`` call
in ``hub/`` and ``ehub/`` (parsed, not run). A literal action (or a conditional between literals)
counts as itself; an action built at run time must be listed in ``BUILT`` with the values it can
take, drawn from the code that decides them (enums, command models, the callers of a helper), so
a new call site of either kind without a name fails here.
"""

from __future__ import annotations

import ast
import typing
from collections.abc import Callable, Iterator
from pathlib import Path

from hub.domain.dispatch import OrderState
from hub.domain.lifecycle import DeviceStatus
from hub.domain.personnel import StaffStatus
from hub.domain.tickets import TicketState
from hub.services.cases import catalog as case_catalog
from hub.services.cases import requests as case_requests
from hub.web import i18n

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "hub", ROOT / "ehub"]


def _trees() -> Iterator[tuple[Path, ast.Module]]:
    for base in SOURCES:
        for path in sorted(base.rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _strings(node: ast.expr | None) -> list[str] | None:
    """The values of a literal, or of a conditional between literals; None if built at run time."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _strings(node.body), _strings(node.orelse)
        return None if a is None or b is None else a + b
    return None


def _audit_names(tree: ast.Module) -> set[str]:
    """The names a module binds ``hub.repositories.audit`` to."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "hub.repositories":
            names |= {a.asname or a.name for a in node.names if a.name == "audit"}
    return names


def _helper_args(
    file: str, func: str, *, position: int | None = None, keyword: str | None = None
) -> Callable[[], list[str]]:
    """The literal values every call of ``func`` in ``file`` passes as its action."""

    def collect() -> list[str]:
        out: list[str] = []
        for path, tree in _trees():
            if path.relative_to(ROOT).as_posix() != file:
                continue
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                if name != func:
                    continue
                arg: ast.expr | None = None
                if position is not None and len(node.args) > position:
                    arg = node.args[position]
                for kw in node.keywords:
                    if kw.arg == keyword:
                        arg = kw.value
                if keyword == "names" and isinstance(arg, ast.Tuple):
                    arg = arg.elts[1]
                values = _strings(arg)
                assert values is not None, (
                    f"{func}() called with a built action: {ast.unparse(node)}"
                )
                out += values
        assert out, f"no calls of {func}() found: the test's view of the source is stale"
        return out

    return collect


def _command_names() -> list[str]:
    out: list[str] = []
    for obj in vars(case_requests).values():
        field = getattr(obj, "model_fields", {}).get("command")
        if field is not None:
            out += [str(v) for v in typing.get_args(field.annotation)]
    return out


# Actions built at run time: (file, the action expression) -> the values it can take.
BUILT: dict[tuple[str, str], Callable[[], list[str]]] = {
    ("hub/services/dispatch.py", "action"): _helper_args(
        "hub/services/dispatch.py", "_end_incident", keyword="names"
    ),
    ("hub/services/dispatch.py", "f\"dispatch.{kind.removeprefix('order_')}\""): lambda: (
        [f"dispatch.{s.value}" for s in OrderState] + ["dispatch.escalated"]
    ),
    ("hub/services/dispatch_events.py", "f\"dispatch.{kind.removeprefix('order_')}\""): lambda: (
        [f"dispatch.{s.value}" for s in OrderState] + ["dispatch.escalated"]
    ),
    ("hub/services/cases/catalog.py", "f'{target}.propose'"): lambda: [
        f"{t}.propose" for t in case_catalog.TARGETS
    ],
    (
        "hub/services/cases/catalog.py",
        "f\"{before['target']}.{('approve' if approve else 'reject')}\"",
    ): lambda: [f"{t}.{v}" for t in case_catalog.TARGETS for v in ("approve", "reject")],
    ("hub/api/export.py", "f\"{name.split('-', 1)[0]}.export\""): lambda: [
        f"{k}.export" for k in _export_kinds()
    ],
    ("hub/services/cases/store.py", "f'case.{cmd.command}'"): lambda: [
        f"case.{c}" for c in _command_names()
    ],
    ("hub/services/inventory.py", "f'device.status.{target.value}'"): lambda: [
        f"device.status.{s.value}" for s in DeviceStatus
    ],
    ("hub/services/personnel.py", "f'staff.status.{change.target.value}'"): lambda: [
        f"staff.status.{s.value}" for s in StaffStatus
    ],
    ("hub/services/tickets.py", "f'ticket.{target.value}'"): lambda: [
        f"ticket.{s.value}" for s in TicketState
    ],
    ("hub/repositories/alerts.py", "r['action']"): _helper_args(
        "hub/services/alerts.py", "_audit_row", position=0
    ),
    ("ehub/admin.py", "action"): _helper_args("ehub/admin.py", "_audit", keyword="action"),
}


def _export_kinds() -> set[str]:
    """The kinds ``hub.api.export.tabular`` is called with (its name up to the first hyphen)."""
    kinds: set[str] = set()
    for _path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "tabular":
                arg = node.args[2]
                if isinstance(arg, ast.Constant):
                    kinds.add(arg.value.split("-", 1)[0])
                elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                    kinds.add(str(arg.values[0].value).split("-", 1)[0])
                else:  # ``name`` in the usage routes: "usage-" + the unit
                    kinds.add("usage")
    return kinds


def actions() -> set[str]:
    found: set[str] = set()
    for path, tree in _trees():
        bound = _audit_names(tree)
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in bound
                and node.func.attr in ("record", "row")
            ):
                continue
            index = 2 if node.func.attr == "record" else 1
            arg = node.args[index] if len(node.args) > index else None
            for kw in node.keywords:
                if kw.arg == "action":
                    arg = kw.value
            values = _strings(arg)
            if values is None:
                key = (rel, ast.unparse(arg) if arg is not None else "")
                assert key in BUILT, f"an audit action built at run time, not in BUILT: {key}"
                values = BUILT[key]()
            found |= set(values)
    return found


def test_the_source_scan_sees_the_known_writes() -> None:
    found = actions()
    assert len(found) > 100
    assert {"staff.update", "org_unit.create", "case.reprint", "media.upload"} <= found
    assert {"alert.escalate", "incident.cancel", "device.import", "case.archive"} <= found


def test_the_export_kinds_are_the_ones_named() -> None:
    assert _export_kinds() == {
        "audit_log", "alerts", "inventory", "custody", "inventory_audit", "usage"
    }  # fmt: skip


def test_every_audit_action_has_a_name_in_both_languages() -> None:
    missing = sorted(a for a in actions() if f"audit_action.{a}" not in i18n.MESSAGES)
    assert missing == []
    for a in actions():
        zh, en = i18n.MESSAGES[f"audit_action.{a}"]
        assert zh and en and a not in (zh, en)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), (a, zh)
