-- 011: change tracking for the hub's live index (hub/live/index.py).
--
-- The index polls for rows changed since its last snapshot by the transaction that wrote them,
-- which needs no timestamp the writer might commit late. device_latest is small (one row per
-- device) and scanned as is, by xmin (the gateway writes it at top level). The registry tables
-- it joins (devices, custody, vehicles) grow or are wide, so their changes are mirrored here as
-- one row per device whose registry facts moved: the poll then scans at most one row per
-- device. A touch records its top-level transaction (pg_current_xact_id()): services nest
-- transactions, a row written in a savepoint has a subtransaction's id as its xmin, and a
-- snapshot does not list those as running; pg_visible_in_snapshot() compares the 64-bit id
-- exactly.
CREATE TABLE live_touch (
    device_id  text PRIMARY KEY,
    touched_at timestamptz NOT NULL DEFAULT now(),
    txid       xid8 NOT NULL DEFAULT pg_current_xact_id()
);

CREATE FUNCTION ehub_live_touch() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER devices_live_touch AFTER INSERT OR UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION ehub_live_touch();
CREATE TRIGGER custody_live_touch AFTER INSERT OR UPDATE ON custody
    FOR EACH ROW EXECUTE FUNCTION ehub_live_touch();
CREATE TRIGGER vehicles_live_touch AFTER INSERT OR UPDATE ON vehicles
    FOR EACH ROW EXECUTE FUNCTION ehub_live_touch();
