"""Every entity type the code can write to the audit log has a display name in both languages
(issue 14 §3: the audit page and its exports show names, not codes such as ``device``).

The entity types are collected from the source the way ``test_audit_action_names`` collects the
actions: every ``audit.record(...)`` / ``audit.row(...)`` call in ``hub/`` and ``ehub/`` (parsed,
not run). A literal counts as itself; one built at run time must be listed in ``BUILT`` with the
values it can take, so a new call site of either kind without a name fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from hub.services.tracks import Subject
from hub.web import i18n
from tests.hub.test_audit_action_names import ROOT, _audit_names, _helper_args, _strings, _trees


def _alert_row_entities() -> list[str]:
    """The entity ``hub.services.alerts._audit_row`` writes (the rows the alerts repo inserts)."""
    for path, tree in _trees():
        if path.relative_to(ROOT).as_posix() != "hub/services/alerts.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "_audit_row":
                for d in ast.walk(node):
                    if isinstance(d, ast.Dict):
                        for k, v in zip(d.keys, d.values, strict=True):
                            if isinstance(k, ast.Constant) and k.value == "entity":
                                values = _strings(v)
                                assert values is not None
                                return values
    raise AssertionError("_audit_row not found: the test's view of the source is stale")


# Entity types built at run time: (file, the entity expression) -> the values it can take.
BUILT: dict[tuple[str, str], Callable[[], list[str]]] = {
    ("hub/repositories/alerts.py", "r['entity']"): _alert_row_entities,
    ("hub/services/tracks.py", "subject.value"): lambda: [s.value for s in Subject],
    ("ehub/admin.py", "entity"): _helper_args("ehub/admin.py", "_audit", keyword="entity"),
}


def entities() -> set[str]:
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
            index = 3 if node.func.attr == "record" else 2
            arg = node.args[index] if len(node.args) > index else None
            for kw in node.keywords:
                if kw.arg == "entity":
                    arg = kw.value
            values = _strings(arg)
            if values is None:
                key = (rel, ast.unparse(arg) if arg is not None else "")
                assert key in BUILT, f"an audit entity built at run time, not in BUILT: {key}"
                values = BUILT[key]()
            found |= set(values)
    return found


def test_the_source_scan_sees_the_known_writes() -> None:
    found = entities()
    assert len(found) > 20
    assert {"device", "staff", "case", "export", "alert", "officer", "org_unit", "user"} <= found


def test_every_audit_entity_has_a_name_in_both_languages() -> None:
    missing = sorted(e for e in entities() if f"audit_entity.{e}" not in i18n.MESSAGES)
    assert missing == []
    for e in entities():
        zh, en = i18n.MESSAGES[f"audit_entity.{e}"]
        assert zh and en and e not in (zh, en)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), (e, zh)
