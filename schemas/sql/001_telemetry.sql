-- 001: registry needed by ingest, telemetry time series, latest state, dead letters.
-- Plain PostgreSQL SQL: schemas.db turns the time-series tables into hypertables when
-- TimescaleDB is present, and the same queries run either way.

CREATE TABLE org_units (
    id          text PRIMARY KEY,
    parent_id   text REFERENCES org_units (id),
    level       text NOT NULL CHECK (level IN ('city', 'district', 'street')),
    name        text NOT NULL,
    name_en     text
);

CREATE TABLE devices (
    device_id     text PRIMARY KEY CHECK (device_id ~ '^[a-z0-9][a-z0-9-]{2,63}$'),
    device_type   text NOT NULL
                  CHECK (device_type IN ('body_camera', 'vehicle_tracker', 'mobile_terminal', 'bt_printer')),
    serial        text,
    model         text,
    org_unit_id   text REFERENCES org_units (id),
    registered_at timestamptz NOT NULL DEFAULT now(),
    retired_at    timestamptz
);

-- Every upstream data table shares the same leading columns:
--   time        device time (kept as sent; the partitioning column)
--   seq         per-device sequence; (device_id, seq, time) is unique so redeliveries are absorbed
--   received_at server receive time (always stored)
--   skewed      device time > 5 min ahead of or > 7 days behind received_at
CREATE TABLE device_status (
    time         timestamptz NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL,
    received_at  timestamptz NOT NULL,
    skewed       boolean NOT NULL DEFAULT false,
    device_type  text NOT NULL,
    battery_pct  real,
    payload      jsonb NOT NULL,
    UNIQUE (device_id, seq, time)
);

CREATE TABLE positions (
    time         timestamptz NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL,
    received_at  timestamptz NOT NULL,
    skewed       boolean NOT NULL DEFAULT false,
    device_type  text NOT NULL,
    lat          double precision NOT NULL,
    lon          double precision NOT NULL,
    speed_kmh    real,
    heading_deg  real,
    altitude_m   real,
    accuracy_m   real,
    payload      jsonb NOT NULL,
    UNIQUE (device_id, seq, time)
);

CREATE TABLE device_events (
    time         timestamptz NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL,
    received_at  timestamptz NOT NULL,
    skewed       boolean NOT NULL DEFAULT false,
    device_type  text NOT NULL,
    event        text NOT NULL,   -- the event name, or 'cmd_result'
    payload      jsonb NOT NULL,
    UNIQUE (device_id, seq, time)
);
CREATE INDEX device_events_event_idx ON device_events (event, time DESC);

-- Whatever could not be parsed, validated or attributed: raw bytes kept with the reason.
CREATE TABLE dead_letters (
    received_at  timestamptz NOT NULL,
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    reason       text NOT NULL,   -- short code: invalid_json, schema, bad_topic, unknown_device, ...
    detail       text NOT NULL,   -- what exactly is wrong, for the person fixing the device
    device_id    text,
    device_type  text,
    seq          bigint
);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason, received_at DESC);

-- Presence transitions (online / stale / offline) with why they happened.
CREATE TABLE presence_events (
    time         timestamptz NOT NULL,
    device_id    text NOT NULL,
    state        text NOT NULL CHECK (state IN ('online', 'stale', 'offline')),
    previous     text,
    reason       text NOT NULL    -- message, state_online, will_or_offline, silence
);
CREATE INDEX presence_events_device_idx ON presence_events (device_id, time DESC);

-- One row per device, kept current by the gateway per batch, so "where is everyone now"
-- never scans history. Skewed messages never move it.
CREATE TABLE device_latest (
    device_id        text PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE,
    device_type      text NOT NULL,
    last_seen        timestamptz,          -- receive time of the last message of any kind
    status_time      timestamptz,
    status_seq       bigint,
    battery_pct      real,
    status           jsonb,
    position_time    timestamptz,
    position_seq     bigint,
    lat              double precision,
    lon              double precision,
    speed_kmh        real,
    heading_deg      real,
    event_time       timestamptz,
    last_event       text,
    presence         text NOT NULL DEFAULT 'unknown'
                     CHECK (presence IN ('unknown', 'online', 'stale', 'offline')),
    presence_since   timestamptz,
    acked_seq        bigint NOT NULL DEFAULT 0,   -- highest contiguous committed seq
    messages_stored  bigint NOT NULL DEFAULT 0,
    duplicates       bigint NOT NULL DEFAULT 0,
    skewed_messages  bigint NOT NULL DEFAULT 0
);
CREATE INDEX device_latest_presence_idx ON device_latest (presence, last_seen);
