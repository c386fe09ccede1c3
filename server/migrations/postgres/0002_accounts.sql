-- Wallet accounts (real-name), one-time codes, sessions, counter staff, device keys.

CREATE TABLE accounts (
    resident_id   TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE otp_codes (
    phone      TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    sent_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (phone, purpose)
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    subject      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    level        TEXT NOT NULL,
    refresh_hash TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX sessions_subject ON sessions (subject);

CREATE TABLE staff (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    department    TEXT NOT NULL,
    counter       TEXT NOT NULL,
    password_hash TEXT NOT NULL
);

CREATE TABLE device_keys (
    key_id        TEXT PRIMARY KEY,
    resident_id   TEXT NOT NULL,
    public_key    TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX device_keys_resident ON device_keys (resident_id);
