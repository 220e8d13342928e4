-- 005: the hub's registry: people and their history, the citywide blacklist, accounts,
-- the inventory lifecycle, custody, inventory audits, alerts, repairs, and the audit log.

-- 编制: the authorised headcount of a unit, against which actual and on-duty counts are shown.
ALTER TABLE org_units ADD COLUMN establishment integer NOT NULL DEFAULT 0
    CHECK (establishment >= 0);

-- Enforcement personnel: officers (执法人员), auxiliaries (执法辅助人员), patrol members (巡查员).
CREATE TABLE staff (
    staff_id     text PRIMARY KEY CHECK (staff_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    badge_no     text UNIQUE,             -- 执法证号 / certificate number
    kind         text NOT NULL CHECK (kind IN ('officer', 'auxiliary', 'patrol')),
    org_unit_id  text NOT NULL REFERENCES org_units (id),
    status       text NOT NULL DEFAULT 'off_duty' CHECK (status IN
                 ('on_duty', 'off_duty', 'on_leave', 'seconded', 'transferred', 'dismissed')),
    seconded_to  text REFERENCES org_units (id),
    id_hash      text,                    -- salted hash of the national ID number
    phone        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_unit_idx ON staff (org_unit_id, status);
CREATE UNIQUE INDEX staff_id_hash_idx ON staff (id_hash) WHERE id_hash IS NOT NULL;

-- Every status or unit change, with its date: transfers and secondments keep their history.
CREATE TABLE staff_history (
    id           bigserial PRIMARY KEY,
    staff_id     text NOT NULL REFERENCES staff (staff_id),
    effective_at timestamptz NOT NULL,
    status       text NOT NULL,
    org_unit_id  text NOT NULL,
    seconded_to  text,
    reason       text,
    actor        text NOT NULL
);
CREATE INDEX staff_history_idx ON staff_history (staff_id, effective_at);

-- Citywide: people dismissed for serious misconduct, by salted hash of the national ID.
CREATE TABLE blacklist (
    id_hash      text PRIMARY KEY,
    reason       text NOT NULL CHECK (length(reason) > 0),
    approver     text NOT NULL,
    staff_id     text,                    -- who they were, if they were on our books
    listed_at    timestamptz NOT NULL DEFAULT now()
);

-- Accounts. Roles and their reach: admin (city), equipment_manager, dispatcher, maintenance,
-- officer, supervisor, legal_reviewer; each sees its org unit and the units below it.
CREATE TABLE users (
    username       text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('admin', 'equipment_manager', 'dispatcher',
                   'maintenance', 'officer', 'supervisor', 'legal_reviewer')),
    org_unit_id    text NOT NULL REFERENCES org_units (id),
    staff_id       text REFERENCES staff (staff_id),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Inventory lifecycle of devices (in stock -> assigned -> in repair -> retired / lost).
ALTER TABLE devices
    ADD COLUMN status text NOT NULL DEFAULT 'in_stock'
        CHECK (status IN ('in_stock', 'assigned', 'in_repair', 'retired', 'lost')),
    ADD COLUMN status_changed_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN firmware text,
    ADD COLUMN purchase_date date,
    ADD COLUMN audit_interval_days integer NOT NULL DEFAULT 90 CHECK (audit_interval_days > 0),
    ADD COLUMN last_audited_at timestamptz;
CREATE INDEX devices_unit_idx ON devices (org_unit_id, device_type, status);
CREATE UNIQUE INDEX devices_serial_idx ON devices (serial) WHERE serial IS NOT NULL;

CREATE TABLE vehicles (
    vehicle_id     text PRIMARY KEY CHECK (vehicle_id ~ '^[a-z0-9][a-z0-9-]{2,63}$'),
    plate          text NOT NULL UNIQUE,  -- 粤B·12345
    model          text,
    org_unit_id    text NOT NULL REFERENCES org_units (id),
    tracker_id     text UNIQUE REFERENCES devices (device_id),
    status         text NOT NULL DEFAULT 'in_stock'
                   CHECK (status IN ('in_stock', 'assigned', 'in_repair', 'retired', 'lost')),
    purchase_date  date
);

-- Custody: who holds what, from when to when. One open check-out per device.
CREATE TABLE custody (
    id               bigserial PRIMARY KEY,
    device_id        text NOT NULL REFERENCES devices (device_id),
    staff_id         text NOT NULL REFERENCES staff (staff_id),
    checked_out_at   timestamptz NOT NULL,
    expected_return  timestamptz,
    checked_in_at    timestamptz,
    out_by           text NOT NULL,
    in_by            text,
    note             text,
    CHECK (checked_in_at IS NULL OR checked_in_at >= checked_out_at)
);
CREATE UNIQUE INDEX custody_open_idx ON custody (device_id) WHERE checked_in_at IS NULL;
CREATE INDEX custody_device_idx ON custody (device_id, checked_out_at);
CREATE INDEX custody_staff_idx ON custody (staff_id, checked_out_at);

-- Inventory audits (盘点): a session per unit records each device seen or missing.
CREATE TABLE inventory_audits (
    id           bigserial PRIMARY KEY,
    org_unit_id  text NOT NULL REFERENCES org_units (id),
    started_at   timestamptz NOT NULL DEFAULT now(),
    started_by   text NOT NULL,
    closed_at    timestamptz,
    closed_by    text
);
CREATE TABLE inventory_audit_items (
    audit_id   bigint NOT NULL REFERENCES inventory_audits (id),
    device_id  text NOT NULL REFERENCES devices (device_id),
    seen       boolean NOT NULL,
    noted_at   timestamptz NOT NULL DEFAULT now(),
    note       text,
    PRIMARY KEY (audit_id, device_id)
);

-- Alert thresholds per device kind (the defaults are seeded by the hub; editable).
CREATE TABLE alert_rules (
    device_type  text NOT NULL,
    kind         text NOT NULL,
    threshold    double precision,
    enabled      boolean NOT NULL DEFAULT true,
    PRIMARY KEY (device_type, kind)
);

-- One active alert per (device, kind): repeats update it, the condition clearing resolves it.
CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    device_id       text NOT NULL REFERENCES devices (device_id),
    kind            text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    state           text NOT NULL DEFAULT 'active'
                    CHECK (state IN ('active', 'acked', 'resolved')),
    opened_at       timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    occurrences     integer NOT NULL DEFAULT 1,
    value           double precision,
    detail          text,
    acked_by        text,
    acked_at        timestamptz,
    resolved_by     text,                 -- NULL with resolved_at set: cleared by itself
    resolved_at     timestamptz
);
CREATE UNIQUE INDEX alerts_one_open_idx ON alerts (device_id, kind) WHERE state <> 'resolved';
CREATE INDEX alerts_state_idx ON alerts (state, opened_at DESC);

-- Repair tickets: reported -> diagnosing -> in_repair -> back_in_service | retired.
CREATE TABLE repair_tickets (
    id            bigserial PRIMARY KEY,
    device_id     text NOT NULL REFERENCES devices (device_id),
    alert_id      bigint REFERENCES alerts (id),
    state         text NOT NULL DEFAULT 'reported' CHECK (state IN
                  ('reported', 'diagnosing', 'in_repair', 'back_in_service', 'retired')),
    fault         text NOT NULL,
    reported_by   text NOT NULL,
    reported_at   timestamptz NOT NULL DEFAULT now(),
    supplier      text,
    cost_yuan     numeric(12, 2) CHECK (cost_yuan IS NULL OR cost_yuan >= 0),
    notes         text,
    closed_at     timestamptz
);
CREATE INDEX repair_tickets_device_idx ON repair_tickets (device_id, reported_at DESC);

-- Every mutation the hub makes: who, what, when, before and after. The database refuses to
-- change or remove a record (ehub_append_only, from 004).
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    action       text NOT NULL,           -- e.g. device.create, custody.check_out, blacklist.check
    entity       text NOT NULL,
    entity_id    text NOT NULL,
    org_unit_id  text,
    before       jsonb,
    after        jsonb
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();
