-- 004: camera docks as a device kind; printer pairings and print jobs; the evidence register;
-- commands sent to devices. Written by the hub's device-event worker (hub/worker.py).

ALTER TABLE devices DROP CONSTRAINT devices_device_type_check;
ALTER TABLE devices ADD CONSTRAINT devices_device_type_check CHECK (device_type IN
    ('body_camera', 'vehicle_tracker', 'mobile_terminal', 'bt_printer', 'camera_dock'));

-- Commands to devices (hub -> `cmd`), and where each stands from the device's `cmd_result`.
CREATE TABLE device_commands (
    cmd_id       text PRIMARY KEY,
    device_id    text NOT NULL REFERENCES devices (device_id),
    cmd          text NOT NULL,
    args         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sent', 'accepted', 'done', 'rejected', 'failed',
                                   'expired')),
    status_at    timestamptz NOT NULL DEFAULT now(),
    detail       text
);
CREATE INDEX device_commands_pending_idx ON device_commands (status, created_at)
    WHERE status IN ('pending', 'sent');

-- Every pairing request from a terminal, with the hub's decision: idempotent on (terminal, seq)
-- so a resent event gets the same answer.
CREATE TABLE printer_pairing_requests (
    terminal_id   text NOT NULL,
    seq           bigint NOT NULL,
    printer_id    text NOT NULL,
    officer_id    text NOT NULL,
    requested_at  timestamptz NOT NULL,   -- device time of the request
    decided_at    timestamptz NOT NULL DEFAULT now(),
    accepted      boolean NOT NULL,
    reason        text,
    cmd_id        text,                   -- the pairing_result command that answered it
    PRIMARY KEY (terminal_id, seq)
);

-- Printer <-> terminal <-> officer, with time. At most one open pairing per printer.
CREATE TABLE printer_pairings (
    id            bigserial PRIMARY KEY,
    printer_id    text NOT NULL REFERENCES devices (device_id),
    terminal_id   text NOT NULL REFERENCES devices (device_id),
    officer_id    text NOT NULL,
    paired_at     timestamptz NOT NULL,
    unpaired_at   timestamptz,
    unpair_reason text,                   -- unpaired by the officer, replaced by another printer
    CHECK (unpaired_at IS NULL OR unpaired_at >= paired_at)
);
CREATE UNIQUE INDEX printer_pairings_open_printer ON printer_pairings (printer_id)
    WHERE unpaired_at IS NULL;
CREATE INDEX printer_pairings_terminal_idx ON printer_pairings (terminal_id, paired_at DESC);

-- Print jobs: queued -> sent -> printed | failed (reason), from the terminal's events.
CREATE TABLE print_jobs (
    terminal_id    text NOT NULL,
    job_id         text NOT NULL,
    printer_id     text,
    officer_id     text,
    case_number    text,
    cmd_id         text,
    pages          integer,
    pages_printed  integer NOT NULL DEFAULT 0,
    status         text NOT NULL CHECK (status IN ('queued', 'sent', 'printed', 'failed')),
    reason         text,
    resumed        boolean NOT NULL DEFAULT false,
    last_seq       bigint NOT NULL,       -- the terminal's newest event applied to this job
    queued_at      timestamptz,
    sent_at        timestamptz,
    finished_at    timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (terminal_id, job_id)
);
CREATE INDEX print_jobs_printer_idx ON print_jobs (printer_id, queued_at DESC);

-- The evidence register: one row per manifest a dock published. Append-only: the database
-- refuses UPDATE, DELETE and TRUNCATE, so a registered hash can never be rewritten.
CREATE TABLE evidence_files (
    id                 bigserial PRIMARY KEY,
    dock_id            text NOT NULL,
    seq                bigint NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    camera_id          text NOT NULL,
    file_id            text NOT NULL,
    officer_id         text,
    started_at         timestamptz NOT NULL,
    ended_at           timestamptz NOT NULL,
    size_bytes         bigint NOT NULL,
    media_type         text NOT NULL,
    sha256             text NOT NULL,
    registered_sha256  text NOT NULL,
    camera_sha256      text,
    integrity          text NOT NULL CHECK (integrity IN ('ok', 'hash_changed',
                                                          'camera_hash_mismatch')),
    storage_uri        text NOT NULL,
    offload_resumed    boolean NOT NULL,
    manifest           jsonb NOT NULL,   -- the event as received
    UNIQUE (dock_id, seq)
);
CREATE INDEX evidence_files_camera_idx ON evidence_files (camera_id, started_at);
CREATE INDEX evidence_files_flagged_idx ON evidence_files (integrity) WHERE integrity <> 'ok';

CREATE FUNCTION ehub_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER evidence_files_no_update BEFORE UPDATE OR DELETE ON evidence_files
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER evidence_files_no_truncate BEFORE TRUNCATE ON evidence_files
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();
