-- One node's data. Times are Unix seconds (BIGINT); binary values are base64url TEXT so the
-- SQLite and PostgreSQL schemas stay the same statement for statement.

CREATE TABLE departments (
    credit_code TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL
);

CREATE TABLE seal_keys (
    key_id      TEXT PRIMARY KEY,
    department  TEXT NOT NULL REFERENCES departments (credit_code),
    public_key  TEXT NOT NULL,
    secret_key  TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT
);
CREATE INDEX seal_keys_department ON seal_keys (department);

CREATE TABLE cert_types (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    department   TEXT NOT NULL,
    holder_kind  TEXT NOT NULL,
    field_schema TEXT NOT NULL,
    disclosable  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE certificates (
    id          TEXT PRIMARY KEY,
    type_code   TEXT NOT NULL REFERENCES cert_types (code),
    holder_kind TEXT NOT NULL,
    holder_id   TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    issuer_code TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    status      TEXT NOT NULL,
    valid_from  BIGINT NOT NULL,
    valid_until BIGINT,
    issued_at   BIGINT NOT NULL,
    replaced_by TEXT
);
CREATE INDEX certificates_holder ON certificates (holder_id);

CREATE TABLE population (
    resident_id TEXT PRIMARY KEY,
    name        TEXT NOT NULL
);

CREATE TABLE enterprises (
    credit_code  TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    legal_rep_id TEXT NOT NULL
);
CREATE INDEX enterprises_name ON enterprises (name);

CREATE TABLE enterprise_admins (
    credit_code TEXT NOT NULL REFERENCES enterprises (credit_code),
    resident_id TEXT NOT NULL,
    PRIMARY KEY (credit_code, resident_id)
);

CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq            BIGINT PRIMARY KEY,
    at             BIGINT NOT NULL,
    correlation_id TEXT NOT NULL,
    action         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    subject        TEXT NOT NULL,
    detail         TEXT NOT NULL,
    result         TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    response_hash  TEXT NOT NULL,
    latency_ms     BIGINT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX audit_log_correlation ON audit_log (correlation_id);
