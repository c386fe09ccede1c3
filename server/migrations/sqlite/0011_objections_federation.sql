-- Objections (异议) across the federation (issue 6). The holder files at the wallet node,
-- which keeps its own record (objections_filed) and forwards the objection through a durable
-- queue (objection_outbox) to the node holding the certificate — or, for a missing one, the
-- node serving the department that should have issued it. That node keeps what it received
-- (objections_received) for its departments to decide; the decision travels back the same way.
-- A NULL destination (filed) or origin (received) means the other side is this node itself.

CREATE TABLE objections_filed (
    id                TEXT PRIMARY KEY,
    -- `wrong_data` (a certificate's data is wrong) or `missing` (a certificate is missing).
    kind              TEXT NOT NULL,
    cert_id           TEXT,
    type_code         TEXT NOT NULL,
    type_name         TEXT NOT NULL,
    issuer_code       TEXT NOT NULL,
    issuer_name       TEXT NOT NULL,
    destination       TEXT,
    holder_kind       TEXT NOT NULL,
    holder_id         TEXT NOT NULL,
    holder_name       TEXT NOT NULL,
    reporter          TEXT NOT NULL,
    reason            TEXT NOT NULL,
    -- filed, received, corrected, issued, rejected, undeliverable
    status            TEXT NOT NULL,
    filed_at          BIGINT NOT NULL,
    deadline          BIGINT NOT NULL,
    received_at       BIGINT,
    decided_at        BIGINT,
    decision          TEXT,
    new_cert_id       TEXT,
    -- The issuer node's signed acknowledgement and decision (NodeEnvelope JSON).
    receipt           TEXT,
    decision_envelope TEXT
);
CREATE INDEX objections_filed_reporter ON objections_filed (reporter);
CREATE INDEX objections_filed_holder ON objections_filed (holder_id);
CREATE INDEX objections_filed_cert ON objections_filed (cert_id);

CREATE TABLE objections_received (
    id          TEXT PRIMARY KEY,
    origin      TEXT,
    kind        TEXT NOT NULL,
    cert_id     TEXT,
    type_code   TEXT NOT NULL,
    issuer_code TEXT NOT NULL,
    holder_kind TEXT NOT NULL,
    holder_id   TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    reporter    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    -- open, corrected, issued, rejected
    status      TEXT NOT NULL,
    filed_at    BIGINT NOT NULL,
    deadline    BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    decided_at  BIGINT,
    decision    TEXT,
    new_cert_id TEXT,
    -- The filing as the wallet node signed it (NodeEnvelope JSON); NULL when filed here.
    envelope    TEXT
);
CREATE INDEX objections_received_issuer ON objections_received (issuer_code, deadline);
CREATE INDEX objections_received_cert ON objections_received (cert_id);

-- Messages about objections to other nodes, kept until the receiver acknowledges them; id is
-- '<objection id>/<message>', so a message is queued once.
CREATE TABLE objection_outbox (
    id              TEXT PRIMARY KEY,
    objection_id    TEXT NOT NULL,
    destination     TEXT NOT NULL,
    message         TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    delivered_at    BIGINT,
    last_error      TEXT
);
CREATE INDEX objection_outbox_pending ON objection_outbox (next_attempt_at) WHERE delivered_at IS NULL;

-- Which departments issue which certificate types below this node, learnt from pushes, so a
-- holder can name the department that should have issued a missing certificate.
CREATE TABLE issuer_directory (
    type_code   TEXT NOT NULL,
    issuer_code TEXT NOT NULL,
    type_name   TEXT NOT NULL,
    issuer_name TEXT NOT NULL,
    region      TEXT NOT NULL,
    holder_kind TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (type_code, issuer_code)
);
INSERT INTO issuer_directory (type_code, issuer_code, type_name, issuer_name, region, holder_kind, updated_at)
SELECT type_code, issuer_code, MAX(type_name), MAX(issuer_name), MAX(owner_region), MAX(holder_kind), MAX(received_at)
FROM cert_index GROUP BY type_code, issuer_code;

-- The single-node objections of 0004 were filed and decided here: each becomes both records.
-- An `upheld` one was accepted but never corrected, so it is open again, awaiting the
-- correction that closes it.
INSERT INTO objections_filed (id, kind, cert_id, type_code, type_name, issuer_code, issuer_name,
    destination, holder_kind, holder_id, holder_name, reporter, reason, status, filed_at, deadline,
    received_at, decided_at, decision, new_cert_id, receipt, decision_envelope)
SELECT o.id, 'wrong_data', o.cert_id, c.type_code, t.name, c.issuer_code, COALESCE(d.name, c.issuer_code),
    NULL, c.holder_kind, c.holder_id, c.holder_name, o.reporter, o.reason,
    CASE WHEN o.status = 'rejected' THEN 'rejected' ELSE 'received' END, o.created_at, o.deadline,
    o.created_at, CASE WHEN o.status = 'rejected' THEN o.decided_at END,
    CASE WHEN o.status = 'rejected' THEN o.decision END, NULL, NULL, NULL
FROM objections o JOIN certificates c ON c.id = o.cert_id JOIN cert_types t ON t.code = c.type_code
LEFT JOIN departments d ON d.credit_code = c.issuer_code;
INSERT INTO objections_received (id, origin, kind, cert_id, type_code, issuer_code, holder_kind,
    holder_id, holder_name, reporter, reason, status, filed_at, deadline, received_at, decided_at,
    decision, new_cert_id, envelope)
SELECT o.id, NULL, 'wrong_data', o.cert_id, c.type_code, c.issuer_code, c.holder_kind, c.holder_id,
    c.holder_name, o.reporter, o.reason, CASE WHEN o.status = 'rejected' THEN 'rejected' ELSE 'open' END,
    o.created_at, o.deadline, o.created_at, CASE WHEN o.status = 'rejected' THEN o.decided_at END,
    CASE WHEN o.status = 'rejected' THEN o.decision END, NULL, NULL
FROM objections o JOIN certificates c ON c.id = o.cert_id;
DROP TABLE objections;
