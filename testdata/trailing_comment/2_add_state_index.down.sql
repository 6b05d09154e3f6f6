DROP INDEX jobs_state_idx;
