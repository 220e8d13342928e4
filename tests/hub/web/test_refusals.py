"""Refusals in Chinese: permissions with role and action names, attendance verdicts with
Shanghai times; unknown ones as written, English untouched."""

from __future__ import annotations

import pytest

from hub.web.refusals import refusal


@pytest.mark.parametrize(
    ("detail", "zh"),
    [
        ("role officer may not dispatch.manage", "角色「执法人员」无权指挥调度"),
        ("outside the shift's patrol zone", "不在班次的巡查区域内"),
        # 00:45 UTC is 08:45 in Shanghai.
        (
            "too early: the sign_in window opens at 2026-12-01T00:45:00+00:00",
            "过早：签到时间 2026-12-01 08:45 才开始",
        ),
        ("device cam-a9 is not checked out", "装备 cam-a9 未被领用"),
        (
            "an officer (执法人员) keeps their enforcement certificate number",
            "执法人员须持有执法证号，不能清空",
        ),
        ("badge number B0002 belongs to someone else", "执法证号 B0002 已属于他人"),
        ("org unit id team-d is already taken", "单位编号 team-d 已被使用"),
        (
            "org unit team-a is a street team: nothing is organised below a team",
            "team-a 是街道执法队，其下不再设单位",
        ),
        ("org unit futian not found", "没有找到单位 futian，或不在您的管辖范围内"),
        ("staff sb1 not found", "没有找到人员 sb1，或不在您的管辖范围内"),
    ],
)
def test_common_refusals_read_in_chinese(detail: str, zh: str) -> None:
    assert refusal(detail, "zh-CN") == zh


def test_unknown_refusals_and_english() -> None:
    assert refusal("a new kind of refusal", "zh-CN") == "a new kind of refusal"
    assert refusal("role officer may not dispatch.manage", "en") == (
        "role officer may not dispatch.manage"
    )
