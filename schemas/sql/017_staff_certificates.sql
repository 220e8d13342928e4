-- 017: an officer's enforcement certificate (执法证) has a number (staff.badge_no) and an expiry;
-- the case guards (Art. 42: >= 2 certified officers on every investigative act) read both, and
-- a legal reviewer's 法律职业资格 (Art. 58: first-time reviewers need it) is recorded beside them.
ALTER TABLE staff ADD COLUMN certificate_expires date;
ALTER TABLE staff ADD COLUMN legal_qualification boolean NOT NULL DEFAULT false;
CREATE INDEX staff_certificate_expiry_idx ON staff (certificate_expires)
    WHERE certificate_expires IS NOT NULL;
