"""Messages of the track replay page: key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "tracks.title": ("轨迹回放", "Track replay"),
    "tracks.subject": ("对象", "Whose track"),
    "tracks.officer": ("执法人员", "Officer"),
    "tracks.vehicle": ("车辆", "Vehicle"),
    "tracks.device": ("设备编号", "Device id"),
    "tracks.show": ("查询轨迹", "Show track"),
    "tracks.play": ("播放", "Play"),
    "tracks.pause": ("暂停", "Pause"),
    "tracks.speed": ("倍速", "Speed"),
    "tracks.position": ("回放位置", "Replay position"),
    "tracks.distance": ("里程", "Distance"),
    "tracks.duration": ("时长", "Duration"),
    "tracks.moving": ("移动时间", "Moving"),
    "tracks.stops": ("停留点", "Stops"),
    "tracks.points": ("定位点", "Fixes"),
    "tracks.ignored": ("剔除的异常点", "Fixes ignored"),
    "tracks.empty": ("该时段没有轨迹", "No track in this range"),
    "tracks.loading": ("加载中…", "Loading…"),
    "tracks.range_note": ("时间为北京时间，最长 7 天", "Times in Beijing time, 7 days at most"),
    "tracks.stop_at": ("停留 {min} 分钟", "Stopped {min} min"),
    "tracks.hours": ("小时", "h"),
    "tracks.minutes": ("分钟", "min"),
}
