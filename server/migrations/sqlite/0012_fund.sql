-- Scenario 2, the housing-fund withdrawal (住房公积金提取): online applications made at the
-- wallet province and reviewed at the fund centre's node (the same tables serve both ends),
-- the applicants' photos, the messages between the two nodes, and the counter's 一证通办 steps.
-- Times are Unix seconds; amounts integer fen.

-- Photos of the debit card, invoice and deed-tax certificate, checked by their bytes.
CREATE TABLE fund_uploads (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL,
    application_id TEXT,
    kind           TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           BIGINT NOT NULL,
    sha256         TEXT NOT NULL,
    width          BIGINT NOT NULL,
    height         BIGINT NOT NULL,
    data           BLOB NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX fund_uploads_owner ON fund_uploads (owner_id);
CREATE INDEX fund_uploads_application ON fund_uploads (application_id);

-- One online application. At the wallet province: the citizen's copy and its status; at the
-- handling node: the fund centre's copy, which its reviewers decide.
CREATE TABLE fund_applications (
    id                 TEXT PRIMARY KEY,
    matter             TEXT NOT NULL,
    matter_name        TEXT NOT NULL,
    department         TEXT NOT NULL,
    applicant_id       TEXT NOT NULL,
    applicant_name     TEXT NOT NULL,
    wallet_region      TEXT NOT NULL,
    handled_by         TEXT NOT NULL,
    status             TEXT NOT NULL,
    form               TEXT NOT NULL,
    sharing            TEXT NOT NULL,
    certificates       TEXT NOT NULL,
    consented_at       BIGINT NOT NULL,
    submitted_at       BIGINT NOT NULL,
    received_at        BIGINT,
    decided_at         BIGINT,
    reviewer           TEXT,
    reason             TEXT,
    evaluation_score   BIGINT,
    evaluation_comment TEXT,
    evaluated_at       BIGINT
);
CREATE INDEX fund_applications_applicant ON fund_applications (applicant_id);
CREATE INDEX fund_applications_status ON fund_applications (status, submitted_at);

-- Messages to the other end (application, decision, evaluation), kept until acknowledged.
CREATE TABLE fund_messages (
    id              TEXT PRIMARY KEY,
    destination     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    application_id  TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    delivered_at    BIGINT,
    last_error      TEXT
);
CREATE INDEX fund_messages_pending ON fund_messages (next_attempt_at) WHERE delivered_at IS NULL;

-- The counter's 一证通办 for one case: the applicant from the ID card, the sharing platform's
-- records for that applicant, what the applicant confirmed, the debit card.
CREATE TABLE fund_counter_cases (
    case_id               TEXT PRIMARY KEY REFERENCES cases (id),
    applicant_id          TEXT NOT NULL,
    consented_at          BIGINT NOT NULL,
    person_name           TEXT,
    sharing               TEXT,
    queried_at            BIGINT,
    invoice_confirmed     TEXT,
    invoice_confirmed_at  BIGINT,
    deed_tax_confirmed    TEXT,
    deed_tax_confirmed_at BIGINT,
    debit_bank            TEXT,
    debit_card            TEXT,
    debit_recorded_at     BIGINT
);
