-- 015: the transparency log (hub/transparency, CASES.md §8): one RFC 9162 Merkle tree over
-- case events, its stored interior hashes, the signed checkpoints; and system alerts (alerts
-- that belong to no device, e.g. "the log no longer extends its last checkpoint").

-- The leaves: index, the exact entry bytes (RFC 8785 canonical JSON), SHA-256(0x00 || entry).
CREATE TABLE tlog_leaves (
    idx          bigint PRIMARY KEY CHECK (idx >= 0),
    entry        bytea NOT NULL,
    leaf_hash    bytea NOT NULL CHECK (length(leaf_hash) = 32),
    appended_at  timestamptz NOT NULL DEFAULT now()
);

-- Every complete subtree of level >= 1: (level, index) covers leaves index*2^level ..
-- (index+1)*2^level - 1. A proof reads O(log n) of these; nothing rebuilds the tree.
CREATE TABLE tlog_nodes (
    level  smallint NOT NULL CHECK (level BETWEEN 1 AND 63),
    idx    bigint NOT NULL CHECK (idx >= 0),
    hash   bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- The tree head: its size and the frontier (hashes of the complete subtrees of the binary
-- decomposition of size, largest first), so an append reads one row. Appends lock it
-- FOR UPDATE: indexes are consecutive and a rolled-back append leaves no gap.
CREATE TABLE tlog_head (
    id        smallint PRIMARY KEY CHECK (id = 1),
    size      bigint NOT NULL CHECK (size >= 0),
    frontier  bytea[] NOT NULL
);
INSERT INTO tlog_head VALUES (1, 0, '{}');

-- Every checkpoint ever issued, as signed (the note's exact text).
CREATE TABLE tlog_checkpoints (
    id         bigserial PRIMARY KEY,
    size       bigint NOT NULL CHECK (size >= 0),
    root       bytea NOT NULL CHECK (length(root) = 32),
    note       text NOT NULL,
    issued_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tlog_checkpoints_size_idx ON tlog_checkpoints (size);

-- Append-only, as audit_log (005): only a superuser who disables the triggers can change them.
CREATE TRIGGER tlog_leaves_no_update BEFORE UPDATE OR DELETE ON tlog_leaves
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER tlog_leaves_no_truncate BEFORE TRUNCATE ON tlog_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER tlog_nodes_no_update BEFORE UPDATE OR DELETE ON tlog_nodes
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER tlog_nodes_no_truncate BEFORE TRUNCATE ON tlog_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER tlog_checkpoints_no_update BEFORE UPDATE OR DELETE ON tlog_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER tlog_checkpoints_no_truncate BEFORE TRUNCATE ON tlog_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();
-- The head moves forward only (its one row is updated by every append, never removed).
CREATE FUNCTION tlog_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.size < OLD.size THEN
        RAISE EXCEPTION 'tlog_head only grows: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tlog_head_forward BEFORE UPDATE OR DELETE ON tlog_head
    FOR EACH ROW EXECUTE FUNCTION tlog_head_forward();
CREATE TRIGGER tlog_head_no_truncate BEFORE TRUNCATE ON tlog_head
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();

-- System alerts: no device; the alert names its subject and the org unit that sees it
-- (the city, for the transparency log). Device rules only reconcile alerts with a device.
ALTER TABLE alerts ALTER COLUMN device_id DROP NOT NULL;
ALTER TABLE alerts ADD COLUMN subject text;
ALTER TABLE alerts ADD COLUMN org_unit_id text REFERENCES org_units (id);
ALTER TABLE alerts ADD CONSTRAINT alerts_device_or_subject
    CHECK ((device_id IS NULL) = (subject IS NOT NULL));
CREATE UNIQUE INDEX alerts_one_open_system_idx ON alerts (subject, kind)
    WHERE state <> 'resolved' AND device_id IS NULL;
