-- The service plane (amlemu serve): what a blob carries beyond its bytes, code and data assets,
-- the v2 job definition of a run, and what a model version says about itself.

-- A blob's properties beyond its bytes (content type, MD5, user metadata), by container and blob
-- name. The bytes are the file; a blob without a row has none of these.
CREATE TABLE blob_properties (
  container  TEXT NOT NULL,
  name       TEXT NOT NULL,
  properties TEXT NOT NULL,  -- JSON: contentType, contentMd5, metadata {name: value}
  PRIMARY KEY (container, name)
);

-- Code assets: a folder uploaded once for jobs, found again by the hash the client computed.
CREATE TABLE code_versions (
  name         TEXT NOT NULL,
  version      TEXT NOT NULL,
  hash         TEXT,           -- hash_sha256 of the client (hash_version 202208)
  container    TEXT NOT NULL,  -- where the files are: a blob container of the workspace
  path         TEXT NOT NULL,  -- and the folder inside it ("" for its root)
  definition   TEXT NOT NULL,  -- JSON: description, tags, properties, isAnonymous, codeUri
  created_time TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE INDEX code_versions_by_hash ON code_versions(hash) WHERE hash IS NOT NULL;

-- Data assets: a named, versioned URI (uri_file, uri_folder or mltable).
CREATE TABLE data_versions (
  name         TEXT NOT NULL,
  version      TEXT NOT NULL,
  data_type    TEXT NOT NULL,
  uri          TEXT NOT NULL,
  definition   TEXT NOT NULL,  -- JSON: description, tags, properties
  created_time TEXT NOT NULL,
  PRIMARY KEY (name, version)
);

-- The v2 job a run was created from, as its REST properties (JSON); NULL for v1 runs.
ALTER TABLE runs ADD COLUMN job_definition TEXT;

-- What the v2 registry says of a model version.
ALTER TABLE models ADD COLUMN model_type TEXT NOT NULL DEFAULT 'custom_model';
ALTER TABLE models ADD COLUMN source_uri TEXT;
ALTER TABLE models ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';
