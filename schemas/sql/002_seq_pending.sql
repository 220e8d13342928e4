-- 002: committed seqs above a device's ack mark, so the mark is right when several gateways
-- share a subscription and each sees only some of a device's messages (gateway/ackmarks.py).
CREATE TABLE device_seq_pending (
    device_id     text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    seq           bigint NOT NULL,
    committed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX device_seq_pending_age_idx ON device_seq_pending (committed_at);
