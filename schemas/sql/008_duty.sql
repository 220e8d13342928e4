-- 008: duty rosters (排班) and attendance (签到打卡).
--
-- A shift belongs to a team, has a patrol zone (a circle or a polygon, as JSON:
-- {"kind": "circle", "lat", "lon", "radius_m"} or {"kind": "polygon", "points": [[lat, lon], ...]})
-- and its own tolerances: the sign-in window opens early_min before the start; late/early
-- leave are judged with grace_min (hub/domain/duty.py).
CREATE TABLE shifts (
    id                  bigserial PRIMARY KEY,
    org_unit_id         text NOT NULL REFERENCES org_units (id),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    starts_at           timestamptz NOT NULL,
    ends_at             timestamptz NOT NULL,
    required_headcount  integer NOT NULL DEFAULT 1 CHECK (required_headcount >= 0),
    zone                jsonb NOT NULL,
    early_min           integer NOT NULL DEFAULT 15 CHECK (early_min BETWEEN 0 AND 240),
    grace_min           integer NOT NULL DEFAULT 5 CHECK (grace_min BETWEEN 0 AND 240),
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at AND ends_at - starts_at <= interval '24 hours')
);
CREATE INDEX shifts_unit_idx ON shifts (org_unit_id, starts_at);

-- One row per person on a shift (the assignment), carrying its accepted sign-in/out and a
-- supervisor's correction. The computed status is not stored: it depends on the clock.
CREATE TABLE attendance (
    id                bigserial PRIMARY KEY,
    shift_id          bigint NOT NULL REFERENCES shifts (id),
    staff_id          text NOT NULL REFERENCES staff (staff_id),
    assigned_by       text NOT NULL,
    assigned_at       timestamptz NOT NULL DEFAULT now(),
    signed_in_at      timestamptz,
    signed_out_at     timestamptz,
    corrected_status  text CHECK (corrected_status IN ('on_time', 'late', 'early_leave', 'absent')),
    corrected_reason  text,
    corrected_by      text,
    corrected_at      timestamptz,
    UNIQUE (shift_id, staff_id)
);
CREATE INDEX attendance_staff_idx ON attendance (staff_id);

-- Every sign-in/out a terminal sent, accepted or refused with the reason: never lost.
-- Idempotent on (device, seq): an event arrives at least once.
CREATE TABLE attendance_events (
    id           bigserial PRIMARY KEY,
    device_id    text NOT NULL REFERENCES devices (device_id),
    seq          bigint NOT NULL,
    officer_id   text NOT NULL,           -- as sent: may name nobody we know (then refused)
    kind         text NOT NULL CHECK (kind IN ('sign_in', 'sign_out')),
    at           timestamptz NOT NULL,
    lat          double precision,
    lon          double precision,
    shift_id     bigint REFERENCES shifts (id),
    accepted     boolean NOT NULL,
    reason       text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_id, seq)
);
CREATE INDEX attendance_events_shift_idx ON attendance_events (shift_id, officer_id, at);
