-- 023: evidence media uploaded over HTTP (photos from terminals, files an officer adds), and
-- the integrity marks on case evidence. Written by hub/services/uploads.py and read by
-- hub/services/cases/evidence.py.

-- One row per accepted upload; the bytes are in the media store (hub/media) under their hash,
-- and sha256 is the hash the hub computed on arrival, equal to the one the sender claimed (an
-- upload whose bytes did not match was refused and left no row). Append-only, like the
-- evidence register: a kept hash is never rewritten.
CREATE TABLE media_uploads (
    id                 text PRIMARY KEY,
    sha256             text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes         bigint NOT NULL CHECK (size_bytes >= 0),
    media_type         text NOT NULL CHECK (length(media_type) <= 127),
    file_name          text CHECK (length(file_name) <= 255),
    uploaded_by        text NOT NULL,             -- the account (username) that sent it
    uploaded_by_staff  text REFERENCES staff (staff_id),
    -- The terminal it came from: set only when the uploader held it (custody) at upload time.
    -- A device has no HTTP credential of its own yet (README "Cases: evidence").
    device_id          text REFERENCES devices (device_id),
    org_unit_id        text NOT NULL REFERENCES org_units (id),   -- the uploader's unit: reach
    uploaded_at        timestamptz NOT NULL,
    taken_at           timestamptz,
    lat                double precision CHECK (lat BETWEEN -90 AND 90),
    lon                double precision CHECK (lon BETWEEN -180 AND 180),
    storage_uri        text NOT NULL,
    case_id            text,                      -- the case it was added to, if any
    evidence_id        text,                      -- ... and the evidence item it became
    CHECK ((lat IS NULL) = (lon IS NULL)),
    CHECK ((case_id IS NULL) = (evidence_id IS NULL))
);
CREATE INDEX media_uploads_sha256_idx ON media_uploads (sha256);
CREATE INDEX media_uploads_case_idx ON media_uploads (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX media_uploads_unit_idx ON media_uploads (org_unit_id, uploaded_at DESC);
CREATE TRIGGER media_uploads_no_update BEFORE UPDATE OR DELETE ON media_uploads
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER media_uploads_no_truncate BEFORE TRUNCATE ON media_uploads
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();
ALTER TABLE media_uploads ADD CONSTRAINT media_uploads_case_fk
    FOREIGN KEY (case_id) REFERENCES cases (id);
ALTER TABLE media_uploads ADD CONSTRAINT media_uploads_evidence_fk
    FOREIGN KEY (evidence_id) REFERENCES case_evidence (id);

-- Integrity marks: every evidence item of a case that is a body-cam file whose manifest came
-- with integrity other than 'ok' (the dock found the stored copy's hash changed, or the
-- camera's own hash different), or whose bytes hash to any hash of such a file. A view, not a
-- table: an item added after the file was flagged is marked as well as one added before, and
-- nothing can unmark it (evidence_files and case_evidence are both append-only). An item
-- points at a file by its evidence_files id (source_kind 'bodycam'); the same camera file
-- offloaded again (another manifest of the same camera_id, file_id) counts as the same file.
CREATE VIEW case_evidence_flags AS
SELECT ce.case_id,
       ce.id               AS evidence_id,
       ce.sha256           AS evidence_sha256,
       ef.id               AS evidence_file_id,
       ef.camera_id,
       ef.file_id,
       ef.integrity,
       ef.sha256,
       ef.registered_sha256,
       ef.camera_sha256,
       ef.received_at      AS flagged_at
FROM evidence_files ef
JOIN case_evidence ce
  ON (ce.source_kind = 'bodycam' AND ce.source_ref IN (
          SELECT o.id::text FROM evidence_files o
          WHERE o.camera_id = ef.camera_id AND o.file_id = ef.file_id))
  OR ce.sha256 IN (ef.sha256, ef.registered_sha256, ef.camera_sha256)
WHERE ef.integrity <> 'ok';

CREATE INDEX evidence_files_file_idx ON evidence_files (camera_id, file_id);
