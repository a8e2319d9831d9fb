-- Identity providers' organisation ids (Auth0 and Clerk `org_…`) mapped to tenants. Unique, set
-- once, and kept on the tombstone of a deleted tenant so an organisation id is never reissued.
-- SQLite's unique index admits any number of NULLs: tenants without one are unaffected.
ALTER TABLE tenants ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX tenants_external_id ON tenants (external_id);
