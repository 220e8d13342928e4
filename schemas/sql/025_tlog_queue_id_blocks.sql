-- 025: the transparency log's queue ids in blocks (hub/transparency/store.py, ID_BLOCK), so an
-- append knows its queue id without a RETURNING: each connection reserves a block of 1024 ids
-- with one nextval (the sequence steps by 1024: nextval v reserves v .. v + 1023) and queues its
-- leaves with ids from it. In pipeline mode the append then needs no round trip of its own: its
-- INSERT goes to the server with the caller's COMMIT.
--
-- Ids from different connections' blocks interleave, so id order is no longer queue order: the
-- sequencer integrates by (queued_at, id), queued_at being the appending statement's clock (an
-- event appended after another committed is queued after it; one call's facts share one
-- queued_at and have increasing ids). No new index: the queue holds only the leaves not yet
-- integrated, and the sequencer reads them in one scan per round.
--
-- In place: rows already queued keep their ids (all below the next block) and are integrated
-- by the new order; a row inserted without an id (DEFAULT nextval) uses one whole block.
ALTER SEQUENCE tlog_queue_id_seq INCREMENT BY 1024;

-- The queue's order is its primary key: (queued_at, id) instead of id (the sequencer reads the
-- oldest queued leaves in key order, and oldest_queued reads the first). Ids stay unique by
-- construction (the sequence hands each value out once) and tlog_leaves.queue_id is unique, so
-- a leaf still cannot be integrated twice. Still one index per queued row, as before.
ALTER TABLE tlog_queue DROP CONSTRAINT tlog_queue_pkey, ADD PRIMARY KEY (queued_at, id);
