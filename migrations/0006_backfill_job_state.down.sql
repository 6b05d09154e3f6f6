-- The state is derivable from started_at/finished_at, so dropping the column
-- loses nothing.
DROP INDEX jobs_state_idx;
ALTER TABLE jobs DROP COLUMN state;
