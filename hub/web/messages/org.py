"""Messages of the org-units page (组织架构): key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.org_units": ("组织架构", "Org units"),
    "org.title": ("组织架构与编制", "Org units and establishment"),
    "org.not_found": ("没有找到该单位，或不在您的管辖范围内", "No such unit in your reach"),
    "org.add": ("新增单位", "Add a unit"),
    "org.add_do": ("新增", "Add"),
    "org.edit": ("编辑", "Edit"),
    "org.level": ("层级", "Level"),
    "org.level.city": ("市局", "City"),
    "org.level.district": ("区局", "District"),
    "org.level.street": ("街道执法队", "Street team"),
    "org.actual": ("实有人数", "Actual"),
    "org.on_duty": ("在岗", "On duty"),
    "org.vacancies": ("空编", "Vacancies"),
    "org.level_note": (
        "新单位的层级由上级决定：市局之下为区局，区局之下为街道执法队。",
        "A new unit's level follows its parent: districts under the city, teams under a district.",
    ),
    "org.note": (
        "人数含下级单位；实有人数不含已调出、离职人员，借调出的人员仍计入本单位。",
        "Counts include the units below; actual leaves out people transferred out or dismissed "
        "and counts people seconded out.",
    ),
    "org.f.id": ("单位编号", "Unit id"),
    "org.f.parent_id": ("上级单位", "Parent unit"),
    "org.f.name": ("名称", "Name"),
    "org.f.name_en": ("英文名称", "English name"),
    "org.f.establishment": ("编制", "Establishment"),
}
