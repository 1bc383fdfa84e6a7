-- Archived data asset versions: kept and usable by their version, but skipped by @latest and
-- left out of listings unless asked for (az ml data archive / restore).

ALTER TABLE data_versions ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
