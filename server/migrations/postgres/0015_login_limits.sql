-- Brute-force limits on logins, one-time codes and staff login, and the trace of failed
-- attempts a security officer reads.
--
-- Rate-limit windows now have different lengths (a minute for public search, an hour for
-- failed logins), so each row says when its window ends and is forgotten after that; rows
-- from before this migration end at 0 and are forgotten at the next sweep.
ALTER TABLE rate_windows ADD COLUMN window_end BIGINT NOT NULL DEFAULT 0;
CREATE INDEX rate_windows_end ON rate_windows (window_end);

-- One row per failed check of a secret (wrong password or code, a real-name mismatch at
-- registration) and one per limit reached (result `rate_limited`, once per bucket and window).
-- kind: citizen_password, citizen_otp, register, staff_password, otp_send. account:
-- `staff:<id>`, or for a resident the hash the audit log names them by (`citizen:<hex>`), for
-- a phone `phone:<hex>`, so the table holds no resident IDs or phone numbers. client: the
-- address as the limit counts it (IPv4, or the IPv6 /64).
CREATE TABLE auth_failures (
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    account TEXT NOT NULL,
    client  TEXT NOT NULL,
    result  TEXT NOT NULL
);
CREATE INDEX auth_failures_at ON auth_failures (at);
CREATE INDEX auth_failures_account ON auth_failures (account, at);
