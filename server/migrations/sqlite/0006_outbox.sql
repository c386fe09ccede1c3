-- Pushes to the tiers above (issue 4): the issuing node's outbox, retried until the receiver
-- acknowledges, and the receiver's index of the certificates held below it. Also the
-- catalog's national flag (its types are pushed to the national node too) and the mark that
-- a certificate's expiry has been pushed, once.

ALTER TABLE cert_types ADD COLUMN national BIGINT NOT NULL DEFAULT 0;

ALTER TABLE certificates ADD COLUMN expiry_pushed_at BIGINT;
CREATE INDEX certificates_expiry_due ON certificates (valid_until) WHERE expiry_pushed_at IS NULL;

-- This node's event sequence: one row, advanced inside the transaction that writes the event,
-- so events about one certificate are numbered in the order they were committed.
CREATE TABLE outbox_head (
    id  BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO outbox_head (id, seq) VALUES (1, 0);

-- One row per event and destination: id is '<seq>@<destination region>'.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    seq             BIGINT NOT NULL,
    destination     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    cert_id         TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    delivered_at    BIGINT,
    last_error      TEXT
);
CREATE UNIQUE INDEX outbox_event ON outbox (seq, destination);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX outbox_delivered ON outbox (delivered_at);

-- What the nodes below pushed: one row per certificate, the newest event wins (seq is the
-- sender's event sequence). holder_key is the hex SHA-256 of a person's resident ID, or an
-- enterprise's credit code; disclosable is a JSON object of the publicly disclosable fields.
CREATE TABLE cert_index (
    cert_id         TEXT PRIMARY KEY,
    type_code       TEXT NOT NULL,
    type_name       TEXT NOT NULL,
    issuer_code     TEXT NOT NULL,
    issuer_name     TEXT NOT NULL,
    owner_region    TEXT NOT NULL,
    holder_kind     TEXT NOT NULL,
    holder_key      TEXT NOT NULL,
    enterprise_name TEXT,
    status          TEXT NOT NULL,
    valid_from      BIGINT NOT NULL,
    valid_until     BIGINT,
    disclosable     TEXT,
    seq             BIGINT NOT NULL,
    event_at        BIGINT NOT NULL,
    received_at     BIGINT NOT NULL
);
CREATE INDEX cert_index_holder ON cert_index (holder_key);
CREATE INDEX cert_index_enterprise ON cert_index (enterprise_name);
