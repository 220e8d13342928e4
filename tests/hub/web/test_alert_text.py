"""Alert details in Chinese: each form the alert rules write, with times in Shanghai."""

from __future__ import annotations

import pytest

from hub.web.alert_text import alert_text


@pytest.mark.parametrize(
    ("detail", "zh"),
    [
        ("battery at 47 % (threshold 60 %)", "电量 47%（阈值 60%）"),
        ("storage 93 % full (threshold 90 %)", "存储已用 93%（阈值 90%）"),
        ("temperature 61.5 °C (threshold 60 °C)", "温度 61.5 °C（阈值 60 °C）"),
        (
            "no message for 35 min while assigned (threshold 30 min)",
            "领用中 35 分钟无消息（阈值 30 分钟）",
        ),
        (
            "reporting but no GNSS fix for 12 min (threshold 10 min)",
            "在线但 12 分钟无定位（阈值 10 分钟）",
        ),
        ("3 repair tickets in 90 days (threshold 3)", "90 天内报修 3 次（阈值 3 次）"),
        # 10:00 UTC is 18:00 in Shanghai.
        (
            "expected back at 2026-12-01T10:00+00:00, 95 min late",
            "应于 2026-12-01 18:00 归还，已逾期 95 分钟",
        ),
        (
            "outside the patrol zone of shift 12 for 8 min (threshold 5 min)",
            "离开班次 12 的巡查区域 8 分钟（阈值 5 分钟）",
        ),
        (
            "audit due 2026-09-01 (91 days ago); last audited: never",
            "应于 2026-09-01 盘点（已过 91 天）；上次盘点：从未",
        ),
    ],
)
def test_known_details_read_in_chinese(detail: str, zh: str) -> None:
    assert alert_text(detail, "zh-CN") == zh


def test_unknown_details_are_shown_as_written_and_english_times_are_local() -> None:
    assert alert_text("something new", "zh-CN") == "something new"
    assert alert_text(None, "zh-CN") == ""
    assert (
        alert_text("battery at 47 % (threshold 60 %)", "en") == "battery at 47 % (threshold 60 %)"
    )
    assert (
        alert_text("expected back at 2026-12-01T10:00+00:00, 95 min late", "en")
        == "expected back at 2026-12-01 18:00, 95 min late"
    )
