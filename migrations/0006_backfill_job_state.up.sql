-- Store the job state explicitly instead of deriving it on every query, and
-- backfill it for existing rows (a data migration).
ALTER TABLE jobs ADD COLUMN state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'running', 'completed'));

UPDATE jobs
SET state = CASE
    WHEN finished_at IS NOT NULL THEN 'completed'
    WHEN started_at  IS NOT NULL THEN 'running'
    ELSE 'pending'
END;

CREATE INDEX jobs_state_idx ON jobs (state);
