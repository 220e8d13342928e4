-- 013: tell the gateway and the JT/T 808 bridge when a device's right to send changes.
--
-- Both cache the registry (gateway/writer.py, gateway/jt808_bridge.py). A device that is
-- retired or lost (devices.retired_at set by hub/services/inventory.py), found again (cleared),
-- re-typed or deleted, and any change to a JT/T 808 terminal entry (phone, auth code), is sent
-- as NOTIFY ehub_registry '<device_id>' when its transaction commits; the listeners drop that
-- device from their caches (gateway/registry_watch.py). NOTIFY is transactional: a rolled-back
-- change notifies nobody, and one transaction's repeated notices for a device arrive once.
-- Devices retired or lost before retired_at was kept with the status: set it now, audited.
WITH fixed AS (
    UPDATE devices SET retired_at = status_changed_at
    WHERE status IN ('retired', 'lost') AND retired_at IS NULL
    RETURNING device_id, org_unit_id, status, retired_at
)
INSERT INTO audit_log (actor, action, entity, entity_id, org_unit_id, before, after)
SELECT 'migration:013', 'device.retired_at.backfill', 'device', device_id, org_unit_id,
       jsonb_build_object('retired_at', NULL, 'status', status),
       jsonb_build_object('retired_at', retired_at, 'status', status)
FROM fixed;

CREATE FUNCTION ehub_registry_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('ehub_registry', OLD.device_id);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM pg_notify('ehub_registry', NEW.device_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER devices_registry_notify AFTER UPDATE ON devices
    FOR EACH ROW
    WHEN (OLD.retired_at IS DISTINCT FROM NEW.retired_at
          OR OLD.device_type IS DISTINCT FROM NEW.device_type
          OR OLD.device_id IS DISTINCT FROM NEW.device_id)
    EXECUTE FUNCTION ehub_registry_notify();
CREATE TRIGGER devices_registry_notify_delete AFTER DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION ehub_registry_notify();
CREATE TRIGGER jt808_terminals_registry_notify AFTER INSERT OR UPDATE OR DELETE ON jt808_terminals
    FOR EACH ROW EXECUTE FUNCTION ehub_registry_notify();
