"""Roles, what each may do, and how far it reaches in the org tree. Pure.

Reach: every account belongs to an org unit and sees that unit and the units below it (a street
team's staff see their team; a district's, the district's teams; the city's, everything).
Permissions are per action; an action a role lacks is refused before anything is read.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    EQUIPMENT_MANAGER = "equipment_manager"
    DISPATCHER = "dispatcher"
    MAINTENANCE = "maintenance"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    LEGAL_REVIEWER = "legal_reviewer"


class Action(StrEnum):
    READ_INVENTORY = "inventory.read"
    MANAGE_DEVICES = "devices.manage"  # create, edit, retire, move between units
    REPAIR_STATUS = "devices.repair_status"  # in_repair <-> in service
    CUSTODY = "custody.manage"  # check out / in
    AUDIT_INVENTORY = "inventory.audit"
    READ_STAFF = "staff.read"
    MANAGE_STAFF = "staff.manage"
    BLACKLIST = "blacklist.manage"
    MANAGE_ORG = "org.manage"
    MANAGE_USERS = "users.manage"
    ALERTS = "alerts.handle"
    TICKETS = "tickets.manage"
    READ_AUDIT_LOG = "audit_log.read"
    MANAGE_ROSTERS = "rosters.manage"  # shifts and who works them
    CORRECT_ATTENDANCE = "attendance.correct"
    READ_TRACKS = "tracks.read"  # anyone's patrol track and geofence events; officers: own
    MANAGE_GEOFENCES = "geofences.manage"
    WRITE_WORK_LOG = "work_log.write"  # officers: only on shifts they are on
    DISPATCH = "dispatch.manage"  # incidents, proposals, orders: create, cancel, close
    READ_OWN_ORDERS = "dispatch.own_orders"  # an officer's own dispatch orders
    # The matter catalog and discretion standards: read by all; changed only by a revision
    # one person proposes and another approves (CASES.md §5).
    READ_CATALOG = "catalog.read"
    PROPOSE_CATALOG = "catalog.propose"
    APPROVE_CATALOG = "catalog.approve"
    MANAGE_CALENDAR = "calendar.manage"  # load a year's official holiday schedule (admins)
    # Enforcement cases (issue 10). Reading a case file is for the people who work cases; the
    # party's personal data is on it. Approving is a team leader's (supervisor's), reviewing a
    # legal reviewer's: the approval chains (hub.domain.cases.approvals) say which step is whose.
    READ_CASES = "cases.read"
    OPEN_CLUE = "cases.open_clue"  # register a clue (案源): patrol, incident, referral, 12345
    HANDLE_CASES = "cases.handle"  # investigative acts, records, evidence, requests for approval
    APPROVE_CASES = "cases.approve"  # a step of an approval chain (立案, 决定, 结案, 撤案 ...)
    LEGAL_REVIEW = "cases.review"  # 法制审核 and the legal office's approval steps
    NUMBER_BLOCKS = "cases.number_blocks"  # allocate document-number blocks to terminals


_ALL = frozenset(Action)
_READ = frozenset({Action.READ_INVENTORY, Action.READ_STAFF, Action.READ_CATALOG})
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: _ALL,
    Role.EQUIPMENT_MANAGER: _READ
    | {
        Action.MANAGE_DEVICES,
        Action.REPAIR_STATUS,
        Action.CUSTODY,
        Action.AUDIT_INVENTORY,
        Action.TICKETS,
        Action.ALERTS,
    },
    Role.MAINTENANCE: _READ | {Action.REPAIR_STATUS, Action.ALERTS, Action.TICKETS},
    # Where people walked is personal: those who dispatch and supervise them see it (officers
    # their own); equipment managers find a lost device by its latest position, not a track.
    Role.DISPATCHER: _READ
    | {
        Action.MANAGE_ROSTERS,
        Action.DISPATCH,
        Action.READ_TRACKS,
        Action.MANAGE_GEOFENCES,
        Action.READ_CASES,
        Action.OPEN_CLUE,  # one click turns an incident into a clue
    },
    Role.OFFICER: _READ
    | {
        Action.READ_OWN_ORDERS,
        Action.WRITE_WORK_LOG,
        Action.READ_CASES,
        Action.OPEN_CLUE,
        Action.HANDLE_CASES,
    },
    Role.SUPERVISOR: _READ
    | {
        Action.MANAGE_STAFF,
        Action.BLACKLIST,
        Action.READ_AUDIT_LOG,
        Action.ALERTS,
        Action.MANAGE_ROSTERS,
        Action.CORRECT_ATTENDANCE,  # only supervisors (and admins) correct attendance
        Action.DISPATCH,
        Action.READ_TRACKS,
        Action.MANAGE_GEOFENCES,
        Action.WRITE_WORK_LOG,
        Action.READ_CASES,
        Action.OPEN_CLUE,
        Action.HANDLE_CASES,
        Action.APPROVE_CASES,
        Action.NUMBER_BLOCKS,
    },
    Role.LEGAL_REVIEWER: _READ
    | {
        Action.READ_AUDIT_LOG,
        Action.PROPOSE_CATALOG,
        Action.APPROVE_CATALOG,
        Action.READ_CASES,
        Action.LEGAL_REVIEW,
    },
}


def allowed(role: Role, action: Action) -> bool:
    return action in PERMISSIONS[role]
