-- The federation: service-token ids already accepted (a replayed inter-node call is refused
-- until the token would have expired anyway), and the consent checks this node made as the
-- wallet province, which are the holder's usage log for certificates held elsewhere.

CREATE TABLE service_tokens (
    jti        TEXT PRIMARY KEY,
    issuer     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX service_tokens_expiry ON service_tokens (expires_at);

CREATE TABLE consents (
    correlation_id TEXT PRIMARY KEY,
    cert_id        TEXT NOT NULL,
    holder_id      TEXT NOT NULL,
    presenter      TEXT NOT NULL,
    grant_id       TEXT,
    matter         TEXT NOT NULL,
    counter_region TEXT NOT NULL,
    counter        TEXT NOT NULL,
    clerk          TEXT NOT NULL,
    case_id        TEXT NOT NULL,
    result         TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX consents_holder ON consents (holder_id);
