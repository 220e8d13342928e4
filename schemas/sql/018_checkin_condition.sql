-- 018: the condition a device came back in (归还验收), written by whoever checks it in.
-- Kept beside the check-out note so that a damaged return is on the custody record itself
-- (the evidence chain asks "who held it, and in what state did it come back").
ALTER TABLE custody ADD COLUMN in_condition text
    CHECK (in_condition IS NULL OR length(in_condition) <= 500);
