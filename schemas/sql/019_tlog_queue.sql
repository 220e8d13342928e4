-- 019: the transparency log's queue and sequencer (hub/transparency/store.py), as Certificate
-- Transparency logs / Trillian do it: the caller's transaction only QUEUES its leaf (no head
-- lock, so concurrent event transactions commit in parallel); a sequencer, one at a time
-- (an advisory lock), integrates the committed queued leaves into the tree in one
-- transaction: consecutive indexes, stored subtree hashes, the new head, and the queued rows
-- deleted. Within the maximum merge delay (EHUB_HUB_LOG_MMD_S) every queued leaf is in the tree.

-- What the caller's transaction writes: the exact entry bytes and SHA-256(0x00 || entry).
-- queued_at is clock_timestamp(): when the row was written (the append is the last thing an
-- event's transaction does), so that a long transaction before it does not count towards the MMD.
-- The one table of the log rows are deleted from (by the sequencer, as it integrates them).
CREATE TABLE tlog_queue (
    id         bigserial PRIMARY KEY,
    entry      bytea NOT NULL,
    leaf_hash  bytea NOT NULL CHECK (length(leaf_hash) = 32),
    queued_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Which queued leaf a tree leaf came from: how a caller that kept its queue id finds its index
-- (store.leaf_index), and what shows a leaf integrated twice. NULL for leaves loaded otherwise.
ALTER TABLE tlog_leaves ADD COLUMN queue_id bigint;
CREATE UNIQUE INDEX tlog_leaves_queue_id_idx ON tlog_leaves (queue_id) WHERE queue_id IS NOT NULL;
