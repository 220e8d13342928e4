-- 021: a device that leaves the registry loses its broker client (issue 12: "retire, lost and
-- the device leaving the registry disable the client"). No API deletes a device (the registry
-- keeps its history), so this is a database administrator's DELETE: the trigger queues the
-- broker's deleteClient for the hub's retry loop (hub/broker/sync.py). The queued change must
-- outlive the device row, so broker_changes no longer cascades from devices.
ALTER TABLE broker_changes DROP CONSTRAINT IF EXISTS broker_changes_device_id_fkey;

CREATE FUNCTION ehub_broker_device_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO broker_changes (device_id, op, device_type, requested_by)
    VALUES (OLD.device_id, 'delete', OLD.device_type, 'db:' || current_user);
    RETURN OLD;
END
$$;

CREATE TRIGGER devices_broker_delete AFTER DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION ehub_broker_device_deleted();
