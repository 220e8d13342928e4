-- 009: patrol tracks (巡查轨迹), work logs (工作日志) and geofences with enter/exit events.
--
-- Tracks are computed from `positions` on demand (hub/domain/tracks.py): nothing stored here.
-- The geofence loop (hub/geofence_loop.py) reads `positions` by receive time and keeps each
-- device's inside/outside state per zone; an officer outside their shift's patrol zone feeds
-- the alert evaluator ("left_zone", hub/domain/alerts.py).

-- The geofence loop reads new fixes by (received_at, device_id, seq): without this index every
-- cycle would scan the day's chunk. It is cheap to keep up: received_at only grows.
CREATE INDEX positions_received_idx ON positions (received_at);

-- Work log entries per shift: append-only; a correction is a new entry naming the old one.
CREATE TABLE work_log_entries (
    id           bigserial PRIMARY KEY,
    shift_id     bigint NOT NULL REFERENCES shifts (id),
    author       text NOT NULL,                  -- the account that wrote it
    staff_id     text REFERENCES staff (staff_id), -- the person, if the account is one
    at           timestamptz NOT NULL,           -- what the entry is about (may be earlier)
    text         text NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
    lat          double precision CHECK (lat BETWEEN -90 AND 90),
    lon          double precision CHECK (lon BETWEEN -180 AND 180),
    corrects     bigint REFERENCES work_log_entries (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((lat IS NULL) = (lon IS NULL))
);
CREATE INDEX work_log_entries_shift_idx ON work_log_entries (shift_id, at, id);
CREATE TRIGGER work_log_entries_no_update BEFORE UPDATE OR DELETE ON work_log_entries
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER work_log_entries_no_truncate BEFORE TRUNCATE ON work_log_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();

-- Street boundaries and custom zones of a unit; they apply to the devices of the unit and of
-- the units below it. Zone JSON as shifts.zone. Never deleted: deactivated (events keep them).
CREATE TABLE geofences (
    id              bigserial PRIMARY KEY,
    org_unit_id     text NOT NULL REFERENCES org_units (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    kind            text NOT NULL CHECK (kind IN ('street_boundary', 'custom')),
    zone            jsonb NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deactivated_by  text,
    deactivated_at  timestamptz
);
CREATE INDEX geofences_unit_idx ON geofences (org_unit_id) WHERE active;

-- Where each device is, per zone: a geofence, or the patrol zone of the shift its holder is
-- signed in for (exactly one of the two). `last_time` is the device time of the newest fix
-- applied: older fixes arriving late do not flip the state (and a re-run changes nothing).
CREATE TABLE geofence_state (
    device_id    text NOT NULL REFERENCES devices (device_id),
    geofence_id  bigint REFERENCES geofences (id),
    shift_id     bigint REFERENCES shifts (id),
    staff_id     text,                       -- the holder whose shift it is (shift zones)
    inside       boolean NOT NULL,
    since        timestamptz NOT NULL,       -- device time of the fix that put it there
    last_time    timestamptz NOT NULL,
    CHECK (num_nonnulls(geofence_id, shift_id) = 1),
    UNIQUE NULLS NOT DISTINCT (device_id, geofence_id, shift_id)
);
CREATE INDEX geofence_state_outside_idx ON geofence_state (device_id)
    WHERE shift_id IS NOT NULL AND NOT inside;

-- Enter/exit crossings; idempotent on the fix (device_id, seq) and the zone.
CREATE TABLE geofence_events (
    id           bigserial PRIMARY KEY,
    device_id    text NOT NULL REFERENCES devices (device_id),
    seq          bigint NOT NULL,
    time         timestamptz NOT NULL,       -- device time of the fix
    geofence_id  bigint REFERENCES geofences (id),
    shift_id     bigint REFERENCES shifts (id),
    staff_id     text,                       -- who held the device then, if anyone
    event        text NOT NULL CHECK (event IN ('enter', 'exit')),
    lat          double precision NOT NULL,
    lon          double precision NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(geofence_id, shift_id) = 1),
    UNIQUE NULLS NOT DISTINCT (device_id, seq, geofence_id, shift_id)
);
CREATE INDEX geofence_events_geofence_idx ON geofence_events (geofence_id, time)
    WHERE geofence_id IS NOT NULL;
CREATE INDEX geofence_events_device_idx ON geofence_events (device_id, time);

-- How far the loop has read `positions`: (received_at, device_id, seq) of the last fix taken.
-- It starts at the migration: history from before geofences existed is not replayed.
CREATE TABLE geofence_watermark (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    received_at  timestamptz NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO geofence_watermark (received_at, device_id, seq) VALUES (now(), '', -1);
