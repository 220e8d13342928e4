-- 020: the case file (issue 10, CASES.md §2-3, §8): parties, cases, their append-only events,
-- documents and evidence, the running deadlines, the approvals inbox and the gap-free 立案
-- numbers. hub/services/cases/store.py is the only writer; every command is one transaction
-- (row lock on the case, the pure lifecycle.transition, the rows below, the transparency log's
-- queued leaves and the audit log).
--
-- What is personal stays here, never in the public log: the party (case_parties) and the
-- commands as given (case_events.payload, free text included). The log gets identifiers and
-- hashes only, and each case_events / case_documents / case_evidence row keeps the queue id of
-- its leaf so that `ehub cases verify` can recompute the leaf from the row.

-- The party (当事人): a citizen (公民) or an organisation (法人或者其他组织).
CREATE TABLE case_parties (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    party_type   text NOT NULL CHECK (party_type IN ('citizen', 'organisation')),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- citizens: id_card / passport / hk_macao_permit / taiwan_permit / other + the number;
    -- organisations: the 统一社会信用代码 (unified social credit code)
    id_type      text CHECK (id_type IN
                 ('id_card', 'passport', 'hk_macao_permit', 'taiwan_permit', 'other')),
    id_number    text CHECK (length(id_number) <= 64),
    credit_code  text CHECK (credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
    legal_representative text CHECK (length(legal_representative) <= 64),
    phone        text CHECK (length(phone) <= 32),
    address      text CHECK (length(address) <= 500),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((id_type IS NULL) = (id_number IS NULL)),
    CHECK (party_type = 'citizen' OR credit_code IS NOT NULL OR id_number IS NULL)
);
CREATE INDEX case_parties_id_number_idx ON case_parties (id_number) WHERE id_number IS NOT NULL;
CREATE INDEX case_parties_credit_code_idx ON case_parties (credit_code)
    WHERE credit_code IS NOT NULL;

-- One row per case: the projections a list of 1,000,000 cases filters and sorts on, and the
-- snapshot of the domain Case (hub/services/cases/codec.py) as a cache of its events.
CREATE TABLE cases (
    id               text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
    number           text UNIQUE,               -- 立案 number, or the 当场 decision's number
    legal_subject    text NOT NULL,             -- LegalSubject.code: numbers are kept per subject
    procedure        text NOT NULL CHECK (procedure IN ('simple', 'ordinary')),
    state            text NOT NULL CHECK (state IN
                     ('clue', 'filed', 'reported', 'notified', 'statement', 'decided', 'served',
                      'performed', 'closed', 'archived', 'not_filed', 'withdrawn',
                      'on_spot_decided', 'on_spot_filed')),
    org_unit_id      text NOT NULL REFERENCES org_units (id),   -- the team: reach scoping
    matter_code      text NOT NULL,
    catalog_version  integer NOT NULL,
    party_id         text NOT NULL REFERENCES case_parties (id),
    source           text NOT NULL CHECK (source IN
                     ('patrol', 'incident', 'citizen', 'referral', '12345', 'superior', 'camera',
                      'on_spot')),
    incident_id      bigint REFERENCES incidents (id),
    act_date         date NOT NULL,
    discovered_on    date NOT NULL,
    severe_harm      boolean NOT NULL DEFAULT false,
    place            text CHECK (length(place) <= 500),
    lat              double precision CHECK (lat BETWEEN -90 AND 90),
    lon              double precision CHECK (lon BETWEEN -180 AND 180),
    lead_officer     text REFERENCES staff (staff_id),
    officers         text[] NOT NULL DEFAULT '{}',
    opened_by        text NOT NULL,             -- username
    opened_at        timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    seq              integer NOT NULL DEFAULT 0 CHECK (seq >= 0),
    filed_on         date,
    decided_on       date,
    pending_act      text,                      -- the approval chain waiting, if any
    next_due         date,                      -- the earliest running timer's due date
    next_warn        date,                      -- ... and its warning date
    decided_fine     numeric(14, 2),
    snapshot         jsonb NOT NULL,
    CHECK ((lat IS NULL) = (lon IS NULL))
);
-- The list: a team's cases of a state, newest first with the id as tie-breaker (a plain ordered
-- index scan, no incremental sort), covering the deadline-colour and matter filters so a page
-- is read from the index (measured by caseui's and casedemo's 1M-case benches).
CREATE INDEX cases_unit_state_idx ON cases (org_unit_id, state, opened_at DESC, id DESC)
    INCLUDE (next_due, next_warn, matter_code);
CREATE INDEX cases_unit_due_idx ON cases (org_unit_id, next_due) WHERE next_due IS NOT NULL;
CREATE INDEX cases_matter_idx ON cases (matter_code);
CREATE INDEX cases_officers_idx ON cases USING gin (officers);
CREATE INDEX cases_incident_idx ON cases (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX cases_party_idx ON cases (party_id);

-- Every accepted command of a case, in order: the record (the snapshot is derived from it).
-- payload is the command as given (free text included: private); refs and payload_sha256 are
-- what the log entry published (see hub/services/cases/logentries.py), so verify can rebuild it.
CREATE TABLE case_events (
    case_id         text NOT NULL REFERENCES cases (id),
    seq             integer NOT NULL CHECK (seq >= 1),
    at              timestamptz NOT NULL,
    actor           text NOT NULL,              -- username
    actor_staff     text,                       -- the acting officer (staff id), if any
    command         text NOT NULL,              -- e.g. request_filing, approve
    kind            text NOT NULL,              -- transition | approval | evidence_added
    state_from      text NOT NULL,
    state_to        text NOT NULL,
    case_number     text,                       -- the case's number after the event
    refs            jsonb NOT NULL DEFAULT '{}',
    payload         jsonb NOT NULL,
    payload_sha256  text NOT NULL CHECK (payload_sha256 ~ '^[0-9a-f]{64}$'),
    tlog_queue_id   bigint NOT NULL UNIQUE,
    PRIMARY KEY (case_id, seq)
);
CREATE INDEX case_events_at_idx ON case_events (at);
CREATE TRIGGER case_events_no_update BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();

-- Documents as issued (执法文书): the exact RFC 8785 bytes hub/documents/issue.py prepare()
-- returned, or for types without a model the canonical record of the act; sha256 is theirs.
CREATE TABLE case_documents (
    id                text PRIMARY KEY,
    case_id           text NOT NULL REFERENCES cases (id),
    seq               integer,                  -- the event that issued it
    doc_type          text NOT NULL,
    number            text,                     -- NULL: a record without a number
    ref               text NOT NULL,            -- the act it belongs to
    sha256            text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    canonical         bytea NOT NULL,
    modelled          boolean NOT NULL DEFAULT true,  -- false: a record of the act, no model
    issued_at         timestamptz NOT NULL,
    issued_by         text NOT NULL,
    printed_at_scene  boolean NOT NULL DEFAULT false,
    terminal_id       text,                     -- 当场: the terminal that printed it
    tlog_queue_id     bigint NOT NULL UNIQUE,
    UNIQUE (doc_type, number)
);
CREATE INDEX case_documents_case_idx ON case_documents (case_id, issued_at);
CREATE INDEX case_documents_sha256_idx ON case_documents (sha256);
CREATE UNIQUE INDEX case_documents_terminal_idx ON case_documents (terminal_id, number)
    WHERE terminal_id IS NOT NULL;
CREATE TRIGGER case_documents_no_update BEFORE UPDATE OR DELETE ON case_documents
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER case_documents_no_truncate BEFORE TRUNCATE ON case_documents
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();

-- Evidence items (Art. 46): the file stays where it is (an upload, evidence_files, a record);
-- the case keeps its hash and where it came from.
CREATE TABLE case_evidence (
    id             text PRIMARY KEY,
    case_id        text NOT NULL REFERENCES cases (id),
    seq            integer,                     -- the add_evidence event
    evidence_type  text NOT NULL CHECK (evidence_type IN
                   ('documentary', 'physical', 'audiovisual', 'electronic', 'witness',
                    'party_statement', 'expert_opinion', 'site_record')),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    source_kind    text NOT NULL CHECK (source_kind IN ('record', 'upload', 'bodycam', 'terminal')),
    source_ref     text,
    collected_by   text[] NOT NULL,
    collected_at   timestamptz NOT NULL,
    lat            double precision CHECK (lat BETWEEN -90 AND 90),
    lon            double precision CHECK (lon BETWEEN -180 AND 180),
    place          text CHECK (length(place) <= 500),
    note           text CHECK (length(note) <= 2000),
    added_by       text NOT NULL,
    added_at       timestamptz NOT NULL,
    tlog_queue_id  bigint NOT NULL UNIQUE,
    CHECK ((lat IS NULL) = (lon IS NULL))
);
CREATE INDEX case_evidence_case_idx ON case_evidence (case_id, added_at);
CREATE INDEX case_evidence_sha256_idx ON case_evidence (sha256);
CREATE INDEX case_evidence_source_idx ON case_evidence (source_kind, source_ref);
CREATE TRIGGER case_evidence_no_update BEFORE UPDATE OR DELETE ON case_evidence
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();
CREATE TRIGGER case_evidence_no_truncate BEFORE TRUNCATE ON case_evidence
    FOR EACH STATEMENT EXECUTE FUNCTION ehub_append_only();

-- The deadlines (CASES.md §2) as a projection the alerts read: a row per (code, ref) started;
-- stopped_at is set when it is met or no longer runs.
CREATE TABLE case_timers (
    case_id      text NOT NULL REFERENCES cases (id),
    code         text NOT NULL,
    ref          text NOT NULL,
    started_on   date NOT NULL,
    due_on       date NOT NULL,
    warn_on      date NOT NULL,
    unit         text NOT NULL CHECK (unit IN ('calendar', 'working')),
    length       integer NOT NULL CHECK (length >= 0),
    provisional  boolean NOT NULL DEFAULT false,
    stopped_at   timestamptz,
    stop_reason  text,
    PRIMARY KEY (case_id, code, ref),
    CHECK ((stopped_at IS NULL) = (stop_reason IS NULL))
);
CREATE INDEX case_timers_running_idx ON case_timers (due_on) WHERE stopped_at IS NULL;
CREATE INDEX case_timers_warn_idx ON case_timers (warn_on) WHERE stopped_at IS NULL;

-- The approvals inbox: one row per step asked for; decided when approved or rejected.
-- org_unit_id is the unit whose role holder must approve (the team, or the district above it).
CREATE TABLE case_approval_steps (
    id            bigserial PRIMARY KEY,
    case_id       text NOT NULL REFERENCES cases (id),
    act           text NOT NULL,
    step_index    integer NOT NULL CHECK (step_index >= 0),
    step_role     text NOT NULL,                -- team_leader / department_head / legal_office
    step_label    text NOT NULL DEFAULT '',
    hub_role      text NOT NULL,                -- the account role that may decide it
    org_unit_id   text NOT NULL REFERENCES org_units (id),
    requested_at  timestamptz NOT NULL,
    requested_by  text NOT NULL,
    decided_at    timestamptz,
    decided_by    text,
    decision      text CHECK (decision IN ('approved', 'rejected')),
    opinion       text CHECK (length(opinion) <= 2000),
    CHECK ((decision IS NULL) = (decided_at IS NULL)),
    CHECK ((decision IS NULL) = (decided_by IS NULL))
);
CREATE INDEX case_approval_steps_open_idx ON case_approval_steps (org_unit_id, hub_role, requested_at)
    WHERE decided_at IS NULL;
CREATE INDEX case_approval_steps_case_idx ON case_approval_steps (case_id, id);
-- at most one open step per case (one chain at a time, one step at a time)
CREATE UNIQUE INDEX case_approval_steps_one_open_idx ON case_approval_steps (case_id)
    WHERE decided_at IS NULL;

-- 立案 numbers per legal subject and year without gaps: the filing transaction takes the next
-- number under this row's lock (SELECT ... FOR UPDATE), so a rolled-back filing gives it back.
CREATE TABLE case_number_counters (
    legal_subject  text NOT NULL,
    year           integer NOT NULL CHECK (year BETWEEN 1990 AND 2200),
    last           integer NOT NULL DEFAULT 0 CHECK (last >= 0),
    PRIMARY KEY (legal_subject, year)
);
