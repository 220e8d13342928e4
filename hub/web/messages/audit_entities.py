"""Display names of the audit log's entity types (the ``entity`` codes ``hub.repositories.audit``
callers write), for the audit page and its exports: ``audit_entity.<code>`` -> (zh-CN, en). The
API and the page's filter keep the codes; ``tests/hub/test_audit_entity_names.py`` fails when the
code can write one not named here."""

from __future__ import annotations

_ENTITIES: dict[str, tuple[str, str]] = {
    "alert": ("告警", "Alert"),
    "alert_rule": ("告警规则", "Alert rule"),
    "attendance": ("考勤", "Attendance"),
    "blacklist": ("黑名单", "Blacklist"),
    "block_number": ("文书号", "Document number"),
    "case": ("案件", "Case"),
    "case_document": ("案件文书", "Case document"),
    "case_revision": ("案件修订", "Case revision"),
    "device": ("设备", "Device"),
    "dispatch_order": ("调度指令", "Dispatch order"),
    "export": ("导出", "Export"),
    "geofence": ("电子围栏", "Geofence"),
    "incident": ("事件", "Incident"),
    "inventory_audit": ("盘点", "Stocktake"),
    "media_upload": ("媒体上传", "Media upload"),
    "number_block": ("文书号段", "Number block"),
    "officer": ("执法人员", "Officer"),
    "org_unit": ("单位", "Unit"),
    "repair_ticket": ("维修工单", "Repair ticket"),
    "shift": ("班次", "Shift"),
    "staff": ("人员", "Staff member"),
    "tlog_checkpoint": ("透明日志检查点", "Transparency log checkpoint"),
    "user": ("账号", "Account"),
    "vehicle": ("车辆", "Vehicle"),
    "work_calendar": ("工作日历", "Work calendar"),
    "work_log_entry": ("工作日志", "Work log entry"),
}

MESSAGES: dict[str, tuple[str, str]] = {f"audit_entity.{k}": v for k, v in _ENTITIES.items()}
