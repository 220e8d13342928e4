"""CSV and XLSX exports, stamped with who exported them, when, and the export's id (a printed
list is evidence), formula-safe (``hub.domain.spreadsheet``), and each one in the audit log
with its filters, row count and the file's SHA-256, so a copy produced later can be checked."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from hub.domain.principal import Principal
from hub.domain.spreadsheet import neutral
from hub.repositories import audit

AConn = audit.AConn
SHANGHAI = ZoneInfo("Asia/Shanghai")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        # XLSX (XML) cannot hold control characters; older rows may carry them.
        return neutral(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    if isinstance(value, list | dict):
        return neutral(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return value


def render(
    name: str, fmt: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], stamp: str
) -> bytes:
    """The file itself (CPU-bound for big exports: callers run it in a thread)."""
    if fmt == "csv":
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow([f"# {stamp}"])
        out.writerow([neutral(c) for c in columns])
        for row in rows:
            out.writerow([_cell(row.get(c)) for c in columns])
        # A BOM so that spreadsheet programs read the Chinese text as UTF-8.
        return ("\ufeff" + buf.getvalue()).encode()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = name[:31]
    sheet.append([stamp])
    sheet.append([neutral(c) for c in columns])
    for row in rows:
        sheet.append([_cell(row.get(c)) for c in columns])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


async def tabular(
    conn: AConn,
    p: Principal,
    name: str,
    fmt: str,
    *,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    filters: Mapping[str, Any] | None = None,
    org_unit_id: str | None = None,
) -> Response:
    """The rows as a stamped file, recorded in the audit log as ``<kind>.export`` (the kind is
    ``name`` up to its first hyphen: ``usage-team_a`` is a usage export)."""
    now = datetime.now(UTC)
    export_id = uuid.uuid4().hex
    stamp = (
        f"exported by {p.username} at {_cell(now)} (Asia/Shanghai); export {export_id};"
        f" {len(rows)} rows"
    )
    body = await asyncio.to_thread(render, name, fmt, columns, rows, stamp)
    await audit.record(
        conn,
        p.username,
        f"{name.split('-', 1)[0]}.export",
        "export",
        export_id,
        org_unit_id=org_unit_id or p.org_unit_id,
        after={
            "export_id": export_id,
            "name": name,
            "format": fmt,
            "filters": audit.jsonable(filters or {}),
            "rows": len(rows),
            "sha256": hashlib.sha256(body).hexdigest(),
            "bytes": len(body),
        },
    )
    filename = f"{name}-{now.astimezone(SHANGHAI):%Y%m%d-%H%M%S}.{fmt}"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Exported-By": p.username,
        "X-Export-Id": export_id,
    }
    return Response(body, media_type=CSV if fmt == "csv" else XLSX, headers=headers)
