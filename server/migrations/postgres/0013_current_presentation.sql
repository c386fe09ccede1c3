-- The newest code a device has shown for a subject (a certificate or a grant). When the phone
-- refreshes its 亮证码 it tells the wallet node, and any older code for the same device and
-- subject is refused from then on, before its minute is up.
CREATE TABLE current_presentations (
    key_id    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    nonce     TEXT NOT NULL,
    PRIMARY KEY (key_id, subject)
);
