-- 证照管理员 appointed in the wallet by the enterprise's legal representative, and removed by
-- them. Rows from a node's configuration (appointments made before the node kept them) have no
-- appointer. A removed administrator keeps the row with `removed_at` set, so a restart that
-- applies the configuration again does not bring them back; appointing them anew clears it.
ALTER TABLE enterprise_admins ADD COLUMN appointed_by TEXT;
ALTER TABLE enterprise_admins ADD COLUMN appointed_at BIGINT;
ALTER TABLE enterprise_admins ADD COLUMN removed_at BIGINT;
CREATE INDEX enterprise_admins_resident ON enterprise_admins (resident_id);
