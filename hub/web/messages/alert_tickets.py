"""Messages of the repair ticket opened from an alert: key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "alerts.open_ticket": ("报修", "Open a repair ticket"),
    "alerts.ticket_opened": ("已开维修工单 #{id}", "Repair ticket #{id} opened"),
    "alerts.ticket_existing": (
        "该装备已有未完成的工单 #{id}",
        "This device already has open ticket #{id}",
    ),
}
