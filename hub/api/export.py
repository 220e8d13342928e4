"""CSV and XLSX exports, stamped with who exported them and when (a printed list is evidence)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

SHANGHAI = ZoneInfo("Asia/Shanghai")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        # XLSX (XML) cannot hold control characters; older rows may carry them.
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def tabular(
    name: str, fmt: str, columns: Sequence[str], rows: Sequence[dict[str, Any]], actor: str
) -> Response:
    now = datetime.now(UTC)
    stamp = f"exported by {actor} at {_cell(now)} (Asia/Shanghai); {len(rows)} rows"
    filename = f"{name}-{now.astimezone(SHANGHAI):%Y%m%d-%H%M%S}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "X-Exported-By": actor}
    if fmt == "csv":
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow([f"# {stamp}"])
        out.writerow(columns)
        for row in rows:
            out.writerow([_cell(row.get(c)) for c in columns])
        # A BOM so that spreadsheet programs read the Chinese text as UTF-8.
        return Response(
            "\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8", headers=headers
        )
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = name[:31]
    sheet.append([stamp])
    sheet.append(list(columns))
    for row in rows:
        sheet.append([_cell(row.get(c)) for c in columns])
    data = io.BytesIO()
    book.save(data)
    return Response(data.getvalue(), media_type=XLSX, headers=headers)
