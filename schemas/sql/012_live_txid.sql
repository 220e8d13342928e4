-- 012: registry touches carry the top-level transaction that made them.
--
-- A row's xmin is a subtransaction's id when it was written inside a savepoint (a service
-- that nests transactions), and a snapshot lists only top-level transactions as running: such
-- a change could be taken for one the previous poll had already seen. pg_current_xact_id() is
-- always the top-level id, and pg_visible_in_snapshot() compares it exactly (64-bit, no
-- wraparound) with the poll's snapshot.
ALTER TABLE live_touch ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE OR REPLACE FUNCTION ehub_live_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text[];
BEGIN
    IF TG_TABLE_NAME = 'vehicles' THEN
        -- A tracker moved between vehicles: both the old and the new one changed.
        ids := ARRAY[NEW.tracker_id];
        IF TG_OP = 'UPDATE' THEN
            ids := ids || OLD.tracker_id;
        END IF;
    ELSE
        ids := ARRAY[NEW.device_id];
    END IF;
    INSERT INTO live_touch (device_id)
        SELECT DISTINCT i FROM unnest(ids) AS i WHERE i IS NOT NULL
        ON CONFLICT (device_id) DO UPDATE SET touched_at = now(), txid = pg_current_xact_id();
    RETURN NULL;
END $$;
