-- 014: accounts' security (issue 12 part 7): every login attempt on record (the throttle reads
-- it, and a failure is as much on record as a change), and a token generation per account, so
-- that deactivating an account ends its tokens for good (reactivating it does not revive them).

ALTER TABLE users ADD COLUMN token_generation integer NOT NULL DEFAULT 0;

-- One row per attempt on POST /api/v1/auth/token or the /login page. ``username`` is what was
-- typed (an unknown one too: the throttle must treat both alike, or it becomes an oracle).
CREATE TABLE login_attempts (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    username     text NOT NULL,
    client_addr  text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('ok', 'wrong', 'throttled'))
);
CREATE INDEX login_attempts_user_idx ON login_attempts (username, at);
CREATE INDEX login_attempts_addr_idx ON login_attempts (client_addr, at);
CREATE TRIGGER login_attempts_no_update BEFORE UPDATE OR DELETE ON login_attempts
    FOR EACH ROW EXECUTE FUNCTION ehub_append_only();

-- The audit log's page filters by time and actor as well as by object.
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at);
