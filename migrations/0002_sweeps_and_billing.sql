-- Sweeps (retention, billing, backup) run across all tenants, resumable from a stored cursor,
-- and the billing rollups they write: one row per tenant and closed period.
CREATE TABLE sweep_runs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('retention', 'billing', 'backup')),
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
  trigger TEXT NOT NULL CHECK (trigger IN ('cron', 'manual')),
  cursor TEXT,                               -- last tenant id processed
  tenants INTEGER NOT NULL DEFAULT 0,        -- tenants processed
  failures INTEGER NOT NULL DEFAULT 0,
  counts TEXT NOT NULL DEFAULT '{}',         -- JSON: what the sweep did, summed over tenants
  errors TEXT NOT NULL DEFAULT '[]',         -- JSON: the first errors, with tenant ids
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  finished_at TEXT,
  lease_until TEXT                           -- an invocation advancing the run holds it until then
);
CREATE INDEX sweep_runs_open ON sweep_runs (status, started_at);

CREATE TABLE usage_rollups (
  tenant_id TEXT NOT NULL,
  period TEXT NOT NULL,                      -- YYYY-MM
  tier TEXT NOT NULL,
  metrics TEXT NOT NULL,                     -- JSON: the period's counters
  rolled_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, period)
);
CREATE INDEX usage_rollups_period ON usage_rollups (period, tenant_id);
