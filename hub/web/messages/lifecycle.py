"""Messages of device registration by CSV and of device status changes: key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "import.title": ("批量登记装备（CSV）", "Register devices from CSV"),
    "import.nav": ("批量登记", "Import CSV"),
    "import.help": (
        "CSV 文件（UTF-8），首行为列名；任何一行有误则不登记任何装备，并逐行说明。",
        "A CSV file (UTF-8) with a header line; if any line is wrong nothing is registered,"
        " and each problem is listed by line.",
    ),
    "import.teams": ("执法队编号：", "Team ids:"),
    "import.file": ("选择文件", "File"),
    "import.do": ("上传并登记", "Upload and register"),
    "import.done": ("已登记 {n} 台装备", "{n} devices registered"),
    "import.refused": ("{n} 处问题，未登记任何装备", "{n} problems: nothing was registered"),
    "import.empty": ("文件中没有装备", "The file lists no devices"),
    "import.too_big": (
        "文件过大（上限约 2 万行）：请分批上传",
        "The file is too large (about 20,000 lines at most): split it",
    ),
    "import.not_utf8": ("文件不是 UTF-8 编码：请另存为 UTF-8 CSV", "Not UTF-8: save as UTF-8 CSV"),
    "import.line": ("行号", "Line"),
    "import.field": ("字段", "Field"),
    "import.problem": ("问题", "Problem"),
    "lifecycle.nav": ("状态变更", "Change status"),
    "lifecycle.title": ("{id} 状态变更", "Status of {id}"),
    "lifecycle.to": ("变更为", "Change to"),
    "lifecycle.final": ("该装备已报废，状态不能再变更", "Retired: its status is final"),
    "lifecycle.reason_required": ("请填写原因", "Give the reason"),
    "lifecycle.in_stock.in_repair": ("送修", "Send to repair"),
    "lifecycle.in_stock.retired": ("报废", "Retire"),
    "lifecycle.in_stock.lost": ("挂失", "Report lost"),
    "lifecycle.assigned.in_repair": ("送修（收回领用）", "Send to repair (taken back)"),
    "lifecycle.assigned.lost": ("挂失（领用人遗失）", "Report lost (by its holder)"),
    "lifecycle.in_repair.in_stock": ("修复入库", "Repaired, back in stock"),
    "lifecycle.in_repair.retired": ("无法修复，报废", "Beyond repair: retire"),
    "lifecycle.lost.in_stock": ("已找回，入库", "Found, back in stock"),
}
