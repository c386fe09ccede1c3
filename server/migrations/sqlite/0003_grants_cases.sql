-- Grants, consumed presentation nonces, matters, cases, retrievals, attachments, evaluations.

CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    cert_id     TEXT NOT NULL,
    holder_id   TEXT NOT NULL,
    grantee_id  TEXT NOT NULL,
    token       TEXT NOT NULL,
    signer      TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    use_limit   BIGINT,
    uses        BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX grants_holder ON grants (holder_id);
CREATE INDEX grants_grantee ON grants (grantee_id);

CREATE TABLE nonces (
    nonce       TEXT PRIMARY KEY,
    consumed_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE matters (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    department TEXT NOT NULL,
    materials  TEXT NOT NULL
);

CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    matter      TEXT NOT NULL REFERENCES matters (code),
    clerk       TEXT NOT NULL,
    counter     TEXT NOT NULL,
    status      TEXT NOT NULL,
    opened_at   BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE TABLE retrievals (
    id             TEXT PRIMARY KEY,
    correlation_id TEXT NOT NULL,
    case_id        TEXT NOT NULL REFERENCES cases (id),
    cert_id        TEXT NOT NULL,
    holder_id      TEXT NOT NULL,
    matter         TEXT NOT NULL,
    material       TEXT NOT NULL,
    presenter      TEXT NOT NULL,
    grant_id       TEXT,
    sealed         TEXT NOT NULL,
    receipt        TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX retrievals_holder ON retrievals (holder_id);

CREATE TABLE attachments (
    id                TEXT PRIMARY KEY,
    case_id           TEXT NOT NULL REFERENCES cases (id),
    retrieval_id      TEXT NOT NULL UNIQUE REFERENCES retrievals (id),
    verification_code TEXT NOT NULL UNIQUE,
    confirmed_at      BIGINT NOT NULL
);

CREATE TABLE evaluations (
    case_id TEXT PRIMARY KEY REFERENCES cases (id),
    score   BIGINT NOT NULL,
    comment TEXT NOT NULL,
    at      BIGINT NOT NULL
);
