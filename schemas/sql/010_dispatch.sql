-- 010: incidents (事件) and dispatch orders (派单): command and dispatch on one live map.
--
-- An incident is created by a dispatcher, from a citizen's report, or from a device's SOS
-- (priority 1, idempotent on the device and the event's seq). It is open -> dispatched ->
-- closed, or cancelled with a reason. Every step is kept in incident_events, which the
-- database refuses to change (ehub_append_only, from 004), and an incident is never deleted:
-- supervisors can trust that nothing was cancelled silently.
CREATE TABLE incidents (
    id                   bigserial PRIMARY KEY,
    org_unit_id          text NOT NULL REFERENCES org_units (id),
    priority             smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),  -- 1 = top (SOS)
    category             text NOT NULL CHECK (length(category) BETWEEN 1 AND 64),
    description          text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    lat                  double precision CHECK (lat BETWEEN -90 AND 90),
    lon                  double precision CHECK (lon BETWEEN -180 AND 180),
    address              text CHECK (length(address) <= 500),
    source               text NOT NULL CHECK (source IN ('dispatcher', 'citizen', 'sos')),
    reporter_name        text CHECK (length(reporter_name) <= 64),
    reporter_phone       text CHECK (length(reporter_phone) <= 32),
    device_id            text REFERENCES devices (device_id),   -- sos: who raised it
    device_seq           bigint,
    officer_id           text,                                  -- sos: as sent or from custody
    state                text NOT NULL DEFAULT 'open'
                         CHECK (state IN ('open', 'dispatched', 'closed', 'cancelled')),
    created_by           text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    reported_at          timestamptz NOT NULL,                  -- device time for an SOS
    first_dispatched_at  timestamptz,
    closed_at            timestamptz,
    outcome              text,
    cancelled_at         timestamptz,
    cancelled_by         text,
    cancel_reason        text,
    UNIQUE (device_id, device_seq),
    CHECK ((lat IS NULL) = (lon IS NULL)),
    CHECK (lat IS NOT NULL OR source = 'sos'),    -- an SOS without a fix still counts
    CHECK (source <> 'citizen' OR reporter_phone IS NOT NULL),
    CHECK (source <> 'sos' OR (device_id IS NOT NULL AND device_seq IS NOT NULL AND priority = 1)),
    CHECK (state <> 'cancelled' OR length(btrim(coalesce(cancel_reason, ''))) > 0),
    CHECK (state <> 'closed' OR closed_at IS NOT NULL)
);
CREATE INDEX incidents_unit_idx ON incidents (org_unit_id, state, priority, created_at DESC);
CREATE TRIGGER incidents_no_delete BEFORE DELETE ON incidents
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER incidents_no_truncate BEFORE TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();

-- Orders to units: an officer (staff holding a mobile terminal) or a vehicle (its crew's
-- terminal receives the order). sent -> acknowledged -> arrived -> closed, or failed; an order
-- not acknowledged in time is flagged escalated_at (hub/domain/dispatch.py). A unit has at most
-- one active order: the partial unique indexes make a double dispatch a conflict.
CREATE TABLE dispatch_orders (
    id               bigserial PRIMARY KEY,
    incident_id      bigint NOT NULL REFERENCES incidents (id),
    org_unit_id      text NOT NULL REFERENCES org_units (id),   -- the incident's: reach
    unit_kind        text NOT NULL CHECK (unit_kind IN ('officer', 'vehicle')),
    unit_id          text NOT NULL,                             -- staff_id or vehicle_id
    staff_id         text NOT NULL REFERENCES staff (staff_id), -- who was told
    vehicle_id       text REFERENCES vehicles (vehicle_id),
    terminal_id      text NOT NULL REFERENCES devices (device_id),
    cmd_id           text NOT NULL UNIQUE REFERENCES device_commands (cmd_id),
    distance_m       double precision,                          -- when it was sent
    state            text NOT NULL DEFAULT 'sent' CHECK (state IN
                     ('sent', 'acknowledged', 'arrived', 'closed', 'failed', 'cancelled')),
    dispatched_by    text NOT NULL,
    note             text,
    sent_at          timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    arrived_at       timestamptz,
    arrival          text CHECK (arrival IN ('position', 'terminal')),
    closed_at        timestamptz,
    outcome          text,
    failed_at        timestamptz,
    failure_reason   text,
    escalated_at     timestamptz,
    CHECK (unit_kind <> 'vehicle' OR vehicle_id = unit_id),
    CHECK (unit_kind <> 'officer' OR staff_id = unit_id),
    CHECK (state <> 'failed' OR length(coalesce(failure_reason, '')) > 0)
);
CREATE UNIQUE INDEX dispatch_orders_busy_staff_idx ON dispatch_orders (staff_id)
    WHERE state IN ('sent', 'acknowledged', 'arrived');
CREATE UNIQUE INDEX dispatch_orders_busy_vehicle_idx ON dispatch_orders (vehicle_id)
    WHERE state IN ('sent', 'acknowledged', 'arrived') AND vehicle_id IS NOT NULL;
CREATE INDEX dispatch_orders_incident_idx ON dispatch_orders (incident_id, id);
CREATE INDEX dispatch_orders_active_idx ON dispatch_orders (state, sent_at)
    WHERE state IN ('sent', 'acknowledged');

-- The incident's history: created, dispatched, acknowledged, arrived, escalated, failed,
-- closed, cancelled (with the reason), reopened. Append-only, like audit_log.
CREATE TABLE incident_events (
    id           bigserial PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    order_id     bigint REFERENCES dispatch_orders (id),
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,           -- a username, or device:<id> / hub
    kind         text NOT NULL,
    detail       jsonb
);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, id);
CREATE TRIGGER incident_events_no_update BEFORE UPDATE OR DELETE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER incident_events_no_truncate BEFORE TRUNCATE ON incident_events
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();
