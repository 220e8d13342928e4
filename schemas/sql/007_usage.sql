-- 007: equipment usage: an hourly rollup per device, kept current incrementally by the hub
-- (hub/services/usage.py refresh_rollup), and what each figure means.
--
-- Why the hub's own rollup and not a continuous aggregate, even where the TimescaleDB build has
-- them: every figure below comes from *consecutive* samples of one device (a start and its stop,
-- a fix and the previous fix, a presence change and the next one), i.e. from window functions
-- (lag/lead), and an interval that starts in one bucket and ends in another must be split
-- between them. Continuous aggregates accept one GROUP BY time_bucket over one hypertable and
-- refuse window functions ("Window functions are not supported by continuous aggregates";
-- experimental opt-in only from 2.20), so they could carry at most the printer pages. One path,
-- the same on the Apache build, the community build and plain PostgreSQL, is simpler to trust.
--
-- Bucket: one hour, [bucket, bucket + 1 h), UTC-aligned (so also aligned to Asia/Shanghai days,
-- whose offset is a whole number of hours). Reports add hours up to days or weeks.
--
-- How each figure is computed from raw telemetry (limits named here are constants in
-- hub/repositories/usage.py: GAP = 30 min, CAP = 12 h, HAVERSINE_GAP = 5 min,
-- MAX_SPEED = 200 km/h). Rows flagged `skewed` (device clock > 5 min ahead or > 7 days behind)
-- are never used. Every interval is split between the hours it overlaps, to the second.
--
--   recording_s (body cameras): device_events record_start / record_stop, in (time, seq) order.
--     A session runs from a record_start to the next record_start/record_stop event of the
--     camera; a start that is still the camera's last event is an open session and counts up to
--     the refresh time (`until`), and is extended at every refresh until its stop arrives. A
--     session never counts more than CAP (a camera's battery does not last longer: a longer
--     "session" means a lost stop). A record_stop whose start is missing (lost, or the camera
--     rebooted) counts its own duration_s, at most CAP, ending at the stop.
--
--   km (vehicle trackers): between consecutive fixes in positions (time, seq order) at most GAP
--     apart: the odometer delta (payload odometer_km) when both fixes carry one and
--     0 <= delta <= MAX_SPEED * dt + 0.5 km; otherwise (no odometer, a reset or replaced unit
--     gives a negative delta, an implausible jump) the great-circle (haversine) distance between
--     the two fixes, counted only if they are at most HAVERSINE_GAP apart, the engine was on
--     (acc_on of the earlier fix) and one of them was moving (speed >= 2 km/h) so that the GNSS
--     drift of a parked car is not distance, and never faster than MAX_SPEED. Across a gap
--     longer than GAP nothing is counted (the odometer resumes from the next pair of fixes).
--     The distance of a leg is spread over the leg's hours in proportion to time.
--
--   engine_s (vehicle trackers): samples are fixes (payload acc_on) and ignition_on /
--     ignition_off events; the time from a sample saying "on" to the next sample counts, if they
--     are at most GAP apart (a silent tracker is not a running engine).
--
--   pages (printers): print_done events, whoever reports them (the officer's terminal on the
--     printer's behalf, or a printer itself), attributed to payload printer_id, else the
--     reporting printer, else the printer paired with the reporting terminal at that moment
--     (printer_pairings). A job counts once per (printer, job_id) even if reported twice.
--     Failed jobs (print_failed) count no pages.
--
--   online_s (every kind; the report's "terminal online hours"): time in presence state
--     'online' from presence_events (the gateway's transitions, in server time), from one
--     transition to the next; the current state counts up to `until`. A device becomes stale
--     after its kind's silence threshold, so up to that much trailing silence counts as online.
--
-- Per officer: a device's hour is attributed to whoever held it (custody) in proportion to the
-- part of the hour they held it. Per team: the devices registered to the unit now.
--
-- Refresh (incremental, idempotent): a device's hours are recomputed from raw telemetry when
-- telemetry of it was received since the watermark less a settle margin (received_at, so late
-- uploads count; 10 min covers batches received before a refresh but committed after it). The
-- hours recomputed are those a new sample can change: GAP either side of a fix or ignition
-- event, CAP either side of a recording event, the hour of a print job or presence change, and
-- [watermark, now) for what is still open (a session being recorded, a device online). The
-- rows of those hours are upserted and those left without usage deleted, in one transaction
-- that also moves the watermark; an advisory lock keeps it to one hub at a time.

-- time_bucket where TimescaleDB is installed, date_bin (PostgreSQL >= 14) otherwise: the same
-- arguments and the same answer; an inlined SQL function, so the planner sees the call itself.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        CREATE FUNCTION ehub_bucket(width interval, ts timestamptz, origin timestamptz)
            RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS 'SELECT time_bucket($1, $2, $3)';
    ELSE
        CREATE FUNCTION ehub_bucket(width interval, ts timestamptz, origin timestamptz)
            RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS 'SELECT date_bin($1, $2, $3)';
    END IF;
END
$$;

CREATE TABLE usage_hourly (
    bucket        timestamptz NOT NULL,
    device_id     text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    device_type   text NOT NULL,
    recording_s   double precision NOT NULL DEFAULT 0 CHECK (recording_s >= 0),
    km            double precision NOT NULL DEFAULT 0 CHECK (km >= 0),
    engine_s      double precision NOT NULL DEFAULT 0 CHECK (engine_s >= 0),
    pages         integer NOT NULL DEFAULT 0 CHECK (pages >= 0),
    online_s      double precision NOT NULL DEFAULT 0 CHECK (online_s >= 0),
    refreshed_at  timestamptz NOT NULL DEFAULT now(),   -- the refresh that last wrote the row
    PRIMARY KEY (device_id, bucket)
);

-- One row: how far the rollup has read. A refresh recomputes, for each device with telemetry
-- received since (watermark - settle margin), the hours that telemetry can change, and moves
-- the watermark to its `until`.
CREATE TABLE usage_watermark (
    id            boolean PRIMARY KEY DEFAULT true CHECK (id),
    watermark     timestamptz,        -- NULL: never refreshed (the first refresh reads everything)
    refreshed_at  timestamptz,
    devices       integer,            -- devices recomputed by the last refresh
    rows_written  integer,
    duration_ms   double precision
);
INSERT INTO usage_watermark DEFAULT VALUES;

-- "What arrived since the watermark": received_at grows with the heap (rows are appended as
-- they arrive, late ones included), so a BRIN index finds them for a few pages of upkeep,
-- without another B-tree on the ingest path. (Presence changes are found by their time.)
CREATE INDEX positions_received_brin ON positions USING brin (received_at)
    WITH (pages_per_range = 32);
CREATE INDEX device_events_received_brin ON device_events USING brin (received_at)
    WITH (pages_per_range = 32);
