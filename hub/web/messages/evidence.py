"""Messages for a case's evidence on its pages (body-cam proposals, uploads, integrity marks;
``hub.services.cases.evidence``, ``hub.services.uploads``): key -> (zh-CN, en).

A proposal's ``reason`` from the API is English; pages build theirs from the proposal's fields
with ``case_ev.proposal.reason`` and one of the ``case_ev.position.*`` messages."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "case_ev.proposals": ("建议关联的执法记录仪视频", "Body-cam files proposed for this case"),
    "case_ev.proposals_none": (
        "未找到办案人员在违法时段持有的执法记录仪所录文件",
        "No file recorded by a camera the case's officers held during the act's window",
    ),
    "case_ev.proposal.reason": (
        "{camera}：录制时由{officer}持有；{where}；与违法时段重叠 {minutes} 分钟",
        "{camera}: held by {officer} while recording; {where}; {minutes} min inside the window",
    ),
    "case_ev.position.near": (
        "距案发地最近 {distance} 米",
        "nearest fix {distance} m from the case's place",
    ),
    "case_ev.position.no_position": (
        "录制期间无定位",
        "no position: the camera had no fix while recording",
    ),
    "case_ev.position.no_case_place": (
        "案件未记录地点，无法计算距离",
        "the case has no place to measure from",
    ),
    "case_ev.confirm": ("确认关联为证据", "Add to the case as evidence"),
    "case_ev.confirmed": ("已关联为证据 {id}", "Added as evidence {id}"),
    "case_ev.window": ("时段（前后分钟）", "Window (minutes either side)"),
    "case_ev.radius": ("范围（米）", "Radius (m)"),
    "case_ev.upload": ("上传证据文件", "Upload an evidence file"),
    "case_ev.upload_file": ("文件", "File"),
    "case_ev.upload_sha256": ("SHA-256 校验值", "SHA-256"),
    "case_ev.upload_taken_at": ("拍摄时间", "Taken at"),
    "case_ev.uploaded": ("已上传，校验值一致：{sha256}", "Uploaded, hash matches: {sha256}"),
    "case_ev.flagged": ("完整性存疑", "Integrity in doubt"),
    "case_ev.flag.hash_changed": (
        "采集站复核时文件校验值已改变",
        "The file's hash changed on the dock",
    ),
    "case_ev.flag.camera_hash_mismatch": (
        "记录仪计算的校验值与采集站不一致",
        "The camera's hash differs from the dock's",
    ),
    "case_ev.type.electronic": ("电子数据", "Electronic data"),
    "case_ev.type.audiovisual": ("视听资料", "Audiovisual material"),
}
