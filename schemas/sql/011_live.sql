-- 011: change tracking for the hub's live index (hub/live/index.py).
--
-- The index polls for rows changed since its last snapshot by their xmin (the writing
-- transaction), which needs no timestamp the writer might commit late. device_latest is small
-- (one row per device) and scanned as is; the registry tables it joins (devices, custody,
-- vehicles) grow or are wide, so their changes are mirrored here as one row per device whose
-- registry facts moved: the poll then scans at most one row per device.
CREATE TABLE live_touch (
    device_id  text PRIMARY KEY,
    touched_at timestamptz NOT NULL DEFAULT now()
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
        ON CONFLICT (device_id) DO UPDATE SET touched_at = now();
    RETURN NULL;
END $$;

CREATE TRIGGER devices_live_touch AFTER INSERT OR UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION ehub_live_touch();
CREATE TRIGGER custody_live_touch AFTER INSERT OR UPDATE ON custody
    FOR EACH ROW EXECUTE FUNCTION ehub_live_touch();
CREATE TRIGGER vehicles_live_touch AFTER INSERT OR UPDATE ON vehicles
    FOR EACH ROW EXECUTE FUNCTION ehub_live_touch();
