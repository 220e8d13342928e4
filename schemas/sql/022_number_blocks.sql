-- 022: blocks of 当场行政处罚决定书 numbers allocated to terminals in advance (Art. 52 "编有号码";
-- CASES.md §3), and each number's fate. Written by hub/services/cases/number_blocks.py.
--
-- A block takes the next numbers of its legal subject's series for the year from the same
-- counter the hub numbers ordinary cases with (case_number_counters, migration 020), so an
-- on-the-spot number and a 立案 number never collide and every number 1..last of a series has
-- exactly one record (hub/domain/cases/numbering.py: none lost, none used twice):
--
--     allocated@terminal ──printed (with its case)──> printed
--                        ──voided (a reason, logged)──> voided
--                        └─returned──> returned            (none is ever reissued)
--
-- A report about a number that the hub could not accept (malformed, not the terminal's, the
-- document incomplete) leaves the number allocated and flags it (bad_report): a supervisor
-- resolves it by voiding it with a reason, or the terminal's corrected report prints it.

CREATE TABLE number_blocks (
    block_id      text PRIMARY KEY,          -- carried in the number_block command
    legal_subject text NOT NULL,
    year          integer NOT NULL CHECK (year BETWEEN 1990 AND 2200),
    prefix        text NOT NULL,             -- {prefix}〔{year}〕第{n:06d}号
    first_n       integer NOT NULL,
    last_n        integer NOT NULL,
    terminal_id   text NOT NULL REFERENCES devices (device_id),
    org_unit_id   text REFERENCES org_units (id),  -- the terminal's team when allocated: reach
    form          jsonb NOT NULL,            -- what the pre-printed form carries (subject, remedies)
    cmd_id        text,                      -- the number_block command that delivered it
    allocated_by  text NOT NULL,
    allocated_at  timestamptz NOT NULL,
    CHECK (1 <= first_n AND first_n <= last_n AND last_n <= 999999),
    UNIQUE (legal_subject, year, first_n)
);
CREATE INDEX number_blocks_terminal_idx ON number_blocks (terminal_id, allocated_at DESC);

CREATE TABLE block_numbers (
    legal_subject text NOT NULL,
    year          integer NOT NULL,
    n             integer NOT NULL,
    number        text NOT NULL UNIQUE,
    block_id      text NOT NULL REFERENCES number_blocks (block_id),
    terminal_id   text NOT NULL,
    state         text NOT NULL DEFAULT 'allocated'
                  CHECK (state IN ('allocated', 'printed', 'voided', 'returned')),
    case_id       text,                      -- printed: the case it was filed as
    reason        text,                      -- voided: why (private: only its hash is logged)
    reason_sha256 text,
    tlog_queue_id bigint,                    -- voided: the transparency-log leaf
    report_device text,                      -- printed: (terminal, seq) of the report
    report_seq    bigint,
    changed_by    text,                      -- a username, or terminal:<device id>
    changed_at    timestamptz,
    bad_report    text,                      -- a refused report about it, for a supervisor
    bad_report_at timestamptz,
    PRIMARY KEY (legal_subject, year, n),
    CHECK (state <> 'printed' OR case_id IS NOT NULL),
    CHECK (state <> 'voided' OR reason_sha256 IS NOT NULL)
);
CREATE INDEX block_numbers_block_idx ON block_numbers (block_id, n);
CREATE INDEX block_numbers_open_idx ON block_numbers (terminal_id, n) WHERE state = 'allocated';
CREATE INDEX block_numbers_bad_idx ON block_numbers (terminal_id) WHERE bad_report IS NOT NULL;
