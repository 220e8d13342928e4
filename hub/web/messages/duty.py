"""Messages of the rosters and attendance page: key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "duty.title": ("排班与考勤", "Rosters and attendance"),
    "duty.day": ("日期", "Day"),
    "duty.prev_day": ("前一天", "Previous day"),
    "duty.next_day": ("后一天", "Next day"),
    "duty.today": ("今天", "Today"),
    "duty.shift": ("班次", "Shift"),
    "duty.hours": ("时段", "Hours"),
    "duty.headcount": (
        "应到 {required} 人，已排 {assigned} 人，已签到 {signed} 人",
        "{required} required, {assigned} assigned, {signed} signed in",
    ),
    "duty.short": ("缺 {n} 人", "{n} short"),
    "duty.no_shifts": ("当天没有班次", "No shifts on this day"),
    "duty.nobody": ("尚未排人", "Nobody assigned yet"),
    "duty.more": (
        "当天班次较多，仅显示前 {n} 个，请按执法队筛选",
        "Only the first {n} shifts are shown: filter by team",
    ),
    "duty.signed_in": ("签到", "Signed in"),
    "duty.signed_out": ("签退", "Signed out"),
    "duty.correct": ("更正", "Correct"),
    "duty.correct_to": ("更正为", "Correct to"),
    "duty.corrected": ("已由 {who} 更正：{reason}", "Corrected by {who}: {reason}"),
    "duty.reason_required": ("请填写更正原因", "Give the reason for the correction"),
    "duty.refused": ("被拒绝的签到/签退", "Refused sign-ins and sign-outs"),
    "duty.sign_in": ("签到", "Sign-in"),
    "duty.sign_out": ("签退", "Sign-out"),
    "attendance.pending": ("待签到", "Pending"),
    "attendance.on_time": ("正常", "On time"),
    "attendance.late": ("迟到", "Late"),
    "attendance.early_leave": ("早退", "Left early"),
    "attendance.absent": ("缺勤", "Absent"),
}
