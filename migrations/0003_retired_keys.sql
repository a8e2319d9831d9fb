-- Data key rotation: the previous wrapped data keys a tenant still needs while its values are
-- re-encrypted under the new key. Emptied when the re-encryption has finished.
ALTER TABLE tenants ADD COLUMN retired_keys TEXT NOT NULL DEFAULT '[]';
