CREATE INDEX jobs_state_idx ON jobs (state);
-- Command: 'VACUUM;'