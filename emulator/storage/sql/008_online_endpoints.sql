-- Managed online endpoints and their deployments (serving/endpoint_store.cpp owns both).
-- An endpoint's host process (its router and the deployments' instances) records its pid; the
-- definition columns hold the v2 shapes as JSON.

CREATE TABLE online_endpoints (
  name           TEXT PRIMARY KEY,
  auth_mode      TEXT NOT NULL,
  primary_key    TEXT NOT NULL,
  secondary_key  TEXT NOT NULL,
  port           INTEGER NOT NULL,
  traffic        TEXT NOT NULL DEFAULT '{}',
  mirror_traffic TEXT NOT NULL DEFAULT '{}',
  definition     TEXT NOT NULL DEFAULT '{}',
  created_time   TEXT NOT NULL,
  host_pid       INTEGER NOT NULL DEFAULT 0,
  generation     INTEGER NOT NULL DEFAULT 0,  -- bumped by each change the host must apply
  applied        INTEGER NOT NULL DEFAULT 0   -- the generation the host applied last
);

CREATE TABLE online_deployments (
  endpoint     TEXT NOT NULL REFERENCES online_endpoints(name) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  definition   TEXT NOT NULL,
  python       TEXT NOT NULL,
  state        TEXT NOT NULL,
  error        TEXT NOT NULL DEFAULT '',
  created_time TEXT NOT NULL,
  PRIMARY KEY (endpoint, name)
);
