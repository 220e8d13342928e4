"""Alert details in the page's language. The alert rules (``hub.domain.alerts``) write their
detail in English with the figures in it; the Chinese UI shows the same facts in Chinese, with
the times in Asia/Shanghai (the detail carries UTC). A detail of an unknown form is shown as it
is, never dropped. Pure: no IO."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from hub.services.cases import deadline_alerts
from hub.web.render import SHANGHAI

NUM = r"([0-9.]+)"


def _local(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


# (the English form, as written by hub.domain.alerts; its Chinese)
ZH: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(rf"battery at {NUM} % \(threshold {NUM} %\)"),
        lambda m: f"电量 {m[1]}%（阈值 {m[2]}%）",
    ),
    (
        re.compile(rf"storage {NUM} % full \(threshold {NUM} %\)"),
        lambda m: f"存储已用 {m[1]}%（阈值 {m[2]}%）",
    ),
    (
        re.compile(rf"temperature (-?[0-9.]+) °C \(threshold {NUM} °C\)"),
        lambda m: f"温度 {m[1]} °C（阈值 {m[2]} °C）",
    ),
    (
        re.compile(rf"no message for {NUM} min while assigned \(threshold {NUM} min\)"),
        lambda m: f"领用中 {m[1]} 分钟无消息（阈值 {m[2]} 分钟）",
    ),
    (
        re.compile(rf"reporting but no GNSS fix for {NUM} min \(threshold {NUM} min\)"),
        lambda m: f"在线但 {m[1]} 分钟无定位（阈值 {m[2]} 分钟）",
    ),
    (
        re.compile(rf"{NUM} repair tickets in {NUM} days \(threshold {NUM}\)"),
        lambda m: f"{m[2]} 天内报修 {m[1]} 次（阈值 {m[3]} 次）",
    ),
    (
        re.compile(r"expected back at (\S+), ([0-9.]+) min late"),
        lambda m: f"应于 {_local(m[1])} 归还，已逾期 {m[2]} 分钟",
    ),
    (
        re.compile(
            rf"outside the patrol zone of shift (\S+) for {NUM} min \(threshold {NUM} min\)"
        ),
        lambda m: f"离开班次 {m[1]} 的巡查区域 {m[2]} 分钟（阈值 {m[3]} 分钟）",
    ),
    (
        re.compile(r"audit due (\S+) \(([0-9.]+) days ago\); last audited: (\S+)"),
        lambda m: (
            f"应于 {m[1]} 盘点（已过 {m[2]} 天）；上次盘点：{'从未' if m[3] == 'never' else m[3]}"
        ),
    ),
    # A case timer (hub.services.cases.deadline_alerts writes and translates it).
    (deadline_alerts.DETAIL_RE, deadline_alerts.detail_zh),
]


def alert_text(detail: str | None, lang: str) -> str:
    """``detail`` as the page's language says it (English: as written, times in Shanghai)."""
    if not detail:
        return ""
    if lang == "zh-CN":
        for pattern, say in ZH:
            m = pattern.fullmatch(detail)
            if m:
                return say(m)
        return detail
    m = ZH[6][0].fullmatch(detail)  # overdue return: the time in Shanghai in English too
    return f"expected back at {_local(m[1])}, {m[2]} min late" if m else detail
