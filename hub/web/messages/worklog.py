"""Messages of a shift's work log page (工作日志): key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "worklog.link": ("工作日志", "Work log"),
    "worklog.title": ("工作日志：{name}", "Work log: {name}"),
    "worklog.none": ("尚无日志", "No entries yet"),
    "worklog.entry": ("记录内容", "Entry"),
    "worklog.write": ("写入日志", "Write"),
    "worklog.correct_one": ("更正哪一条（可选）", "Corrects (optional)"),
    "worklog.corrects": ("更正 #{id}", "corrects #{id}"),
    "worklog.corrected_by": ("已由 #{ids} 更正", "corrected by #{ids}"),
    "worklog.empty_text": ("请填写日志内容", "Write something"),
    "worklog.not_found": ("没有找到该班次，或不在您的管辖范围内", "No such shift in your reach"),
}
