-- 006: alerts and repairs: who changed a threshold, how an alert was resolved, one open repair
-- ticket per device, and every step of a ticket (the device's service history).

ALTER TABLE alert_rules
    ADD COLUMN updated_by text,
    ADD COLUMN updated_at timestamptz;

ALTER TABLE alerts ADD COLUMN resolution text;   -- what the person resolving it did
CREATE INDEX alerts_device_idx ON alerts (device_id, opened_at DESC);

-- A device is in at most one repair at a time; a second report goes onto the open ticket.
ALTER TABLE repair_tickets ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE UNIQUE INDEX repair_tickets_one_open_idx ON repair_tickets (device_id)
    WHERE state IN ('reported', 'diagnosing', 'in_repair');
-- "Repeated faults" counts recent tickets of every device in one pass.
CREATE INDEX repair_tickets_reported_idx ON repair_tickets (reported_at);

CREATE TABLE repair_ticket_steps (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES repair_tickets (id),
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    from_state  text,                      -- NULL: the ticket was opened
    to_state    text NOT NULL,
    cost_yuan   numeric(12, 2) CHECK (cost_yuan IS NULL OR cost_yuan >= 0),
    supplier    text,
    notes       text
);
CREATE INDEX repair_ticket_steps_ticket_idx ON repair_ticket_steps (ticket_id, at);
