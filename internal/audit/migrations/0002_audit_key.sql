-- The keyed chain (docs/adr/0003-audit-anchoring.md). An entry made with
-- the audit key records the key's ID, and its hash is an HMAC-SHA-256 with
-- that key; entries from before the key have key_id '' and keep their
-- plain SHA-256 hashes. The head row records the key of the chain and a
-- MAC over (seq, hash), so it cannot be moved back without the key.
ALTER TABLE audit_log ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_head ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_head ADD COLUMN mac TEXT NOT NULL DEFAULT '';
