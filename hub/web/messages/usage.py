"""Messages of the usage statistics page (使用统计): key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.usage": ("使用统计", "Usage"),
    "usage.title": ("使用统计", "Usage statistics"),
    "usage.by_team": ("按单位", "By team"),
    "usage.by_device": ("按装备", "By device"),
    "usage.by_officer": ("按人员", "By officer"),
    "usage.subject_team": ("单位", "Unit"),
    "usage.subject_device": ("装备编号", "Device id"),
    "usage.subject_officer": ("执法人员", "Officer"),
    "usage.bucket": ("统计粒度", "Per"),
    "usage.b.hour": ("小时", "Hour"),
    "usage.b.day": ("天", "Day"),
    "usage.b.week": ("周", "Week"),
    "usage.metric": ("图表指标", "Chart"),
    "usage.row": ("项目", "Row"),
    "usage.total": ("合计", "Total"),
    "usage.per_device": ("各装备", "Per device"),
    "usage.empty": ("该时段没有使用数据", "No usage in this period"),
    "usage.chart": ("{who}：{what}", "{who}: {what}"),
    "usage.f.online_h": ("在线时长（小时）", "Online (h)"),
    "usage.f.recording_h": ("录像时长（小时）", "Recording (h)"),
    "usage.f.km": ("行驶里程（公里）", "Distance (km)"),
    "usage.f.engine_h": ("发动机时长（小时）", "Engine on (h)"),
    "usage.f.pages": ("打印页数", "Pages printed"),
}
