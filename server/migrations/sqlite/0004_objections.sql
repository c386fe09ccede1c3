-- Objections (异议): a holder's report that a certificate is wrong, tracked to a decision.

CREATE TABLE objections (
    id          TEXT PRIMARY KEY,
    cert_id     TEXT NOT NULL REFERENCES certificates (id),
    holder_id   TEXT NOT NULL,
    reporter    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL,
    deadline    BIGINT NOT NULL,
    decision    TEXT,
    created_at  BIGINT NOT NULL,
    decided_at  BIGINT
);
CREATE INDEX objections_cert ON objections (cert_id);
CREATE INDEX objections_reporter ON objections (reporter);
