-- The province's sharing platform (共享平台): tax-authority data that replaces paper
-- materials, looked up by number and checked against what an applicant typed. Amounts are
-- integer fen (0.01 yuan); times are Unix seconds.

CREATE TABLE tax_invoices (
    invoice_number   TEXT PRIMARY KEY,
    buyer_id         TEXT NOT NULL,
    buyer_name       TEXT NOT NULL,
    seller_name      TEXT NOT NULL,
    property_address TEXT NOT NULL,
    amount_fen       BIGINT NOT NULL,
    issued_at        BIGINT NOT NULL
);
CREATE INDEX tax_invoices_buyer ON tax_invoices (buyer_id);

CREATE TABLE deed_tax_records (
    certificate_number TEXT PRIMARY KEY,
    payer_id           TEXT NOT NULL,
    payer_name         TEXT NOT NULL,
    property_address   TEXT NOT NULL,
    amount_fen         BIGINT NOT NULL,
    paid_at            BIGINT NOT NULL,
    tax_authority      TEXT NOT NULL
);
CREATE INDEX deed_tax_records_payer ON deed_tax_records (payer_id);
