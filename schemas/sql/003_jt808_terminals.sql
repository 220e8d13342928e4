-- 003: JT/T 808 terminals: which registered vehicle tracker a terminal phone number is, and
-- the auth code issued at its registration (0x8100), kept so it can re-authenticate (0x0102)
-- after a reconnect or a bridge restart without registering again.
CREATE TABLE jt808_terminals (
    device_id         text PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE,
    phone             text NOT NULL UNIQUE CHECK (phone ~ '^[0-9]{12}([0-9]{8})?$'),
    auth_code         text,
    registered_at     timestamptz,
    authenticated_at  timestamptz
);
