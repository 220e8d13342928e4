-- 012: the broker side of device identity (issue 12). The hub drives Mosquitto's
-- dynamic-security plugin; a change the broker has not taken yet waits here and is retried
-- by the hub (hub/broker/sync.py), so a broker outage delays a revocation, never loses it.
-- No secret is ever stored: a password is set on the broker at once or not issued at all.
CREATE TABLE broker_changes (
    id            bigserial PRIMARY KEY,
    device_id     text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    op            text NOT NULL CHECK (op IN ('create', 'disable', 'enable', 'delete')),
    device_type   text NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    requested_by  text NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    applied_at    timestamptz
);
-- The retry loop reads what is pending, oldest first; the device page asks "anything pending?".
CREATE INDEX broker_changes_pending ON broker_changes (device_id, id) WHERE applied_at IS NULL;

-- That (and when, and by whom) a device's broker password was issued; never the password.
CREATE TABLE device_broker_credentials (
    device_id   text PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL,
    issued_by   text NOT NULL,
    rotations   integer NOT NULL DEFAULT 0
);
