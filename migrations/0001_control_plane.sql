-- Control plane: plans, the tenant registry (rows are tombstoned, never deleted), admin audit.
CREATE TABLE plans (
  tier TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  limits TEXT NOT NULL,   -- JSON: hard limits (Limits)
  prices TEXT NOT NULL,   -- JSON: base price, included amounts, overage rates (cents)
  updated_at TEXT NOT NULL
);

INSERT INTO plans (tier, name, limits, prices, updated_at) VALUES
('basic', 'Basic',
 '{"requestsPerSecond":10,"burst":20,"maxRecords":10000,"maxStorageBytes":1073741824,"maxMembers":5,"maxCollections":20,"maxRequestsPerMonth":100000,"maxBackups":3}',
 '{"baseCents":2900,"included":{"requests":50000,"records":5000,"storageBytes":536870912},"overageCents":{"per1kRequests":5,"per1kRecords":10,"perGbStorage":50}}',
 '2026-11-01T00:00:00.000Z'),
('pro', 'Pro',
 '{"requestsPerSecond":50,"burst":100,"maxRecords":250000,"maxStorageBytes":53687091200,"maxMembers":50,"maxCollections":100,"maxRequestsPerMonth":5000000,"maxBackups":7}',
 '{"baseCents":9900,"included":{"requests":1000000,"records":100000,"storageBytes":10737418240},"overageCents":{"per1kRequests":3,"per1kRecords":5,"perGbStorage":25}}',
 '2026-11-01T00:00:00.000Z'),
('enterprise', 'Enterprise',
 '{"requestsPerSecond":200,"burst":400,"maxRecords":10000000,"maxStorageBytes":1099511627776,"maxMembers":1000,"maxCollections":500,"maxRequestsPerMonth":100000000,"maxBackups":30}',
 '{"baseCents":49900,"included":{"requests":20000000,"records":2000000,"storageBytes":107374182400},"overageCents":{"per1kRequests":1,"per1kRecords":2,"perGbStorage":10}}',
 '2026-11-01T00:00:00.000Z');

CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('provisioning', 'active', 'suspended', 'cancelled', 'deleted')),
  tier TEXT NOT NULL REFERENCES plans(tier),
  jurisdiction TEXT,
  settings TEXT NOT NULL DEFAULT '{}',      -- JSON: the tenant's settings (merged over defaults)
  limit_overrides TEXT NOT NULL DEFAULT '{}', -- JSON: per-tenant overrides of the plan's limits
  legal_hold INTEGER NOT NULL DEFAULT 0,
  wrapped_key TEXT,                          -- data key wrapped by MASTER_KEY; NULL once shredded
  owner_sub TEXT NOT NULL,
  revision INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  cancelled_at TEXT,
  deleted_at TEXT
);
CREATE INDEX tenants_status ON tenants (status, id);
CREATE INDEX tenants_tier ON tenants (tier, id);

CREATE TABLE admin_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  success INTEGER NOT NULL,
  details TEXT NOT NULL DEFAULT '{}',
  request_id TEXT
);
CREATE INDEX admin_audit_target ON admin_audit (target, id);
