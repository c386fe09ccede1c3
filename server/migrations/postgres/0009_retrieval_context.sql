-- What a counter page needs to show a retrieval again later (another tab, the archive copy):
-- the regions it passed through, the node that checked the holder's consent, and the issuer's
-- seal keys as the owner vouched for them, so the page can re-check the seal itself.
ALTER TABLE retrievals ADD COLUMN path TEXT NOT NULL DEFAULT '[]';
ALTER TABLE retrievals ADD COLUMN consent_by TEXT NOT NULL DEFAULT '';
ALTER TABLE retrievals ADD COLUMN issuer_keys TEXT NOT NULL DEFAULT '[]';
