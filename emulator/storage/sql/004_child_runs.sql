-- Child runs: a run may have a parent (a sweep's trials, later a pipeline's steps), numbered
-- from 0 in the order they were submitted.
ALTER TABLE runs ADD COLUMN parent_run_id TEXT REFERENCES runs(run_id);
ALTER TABLE runs ADD COLUMN child_number INTEGER;
CREATE INDEX runs_by_parent ON runs(parent_run_id, child_number) WHERE parent_run_id IS NOT NULL;
