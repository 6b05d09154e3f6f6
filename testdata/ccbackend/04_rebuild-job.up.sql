-- Add energy columns by rebuilding `job`. `jobtag` references `job` with
-- ON DELETE CASCADE, so with foreign keys ON the DROP TABLE below would
-- silently delete every jobtag row.
CREATE TABLE job_new (
    id               INTEGER PRIMARY KEY,
    job_id           BIGINT       NOT NULL,
    cluster          VARCHAR(255) NOT NULL,
    start_time       BIGINT       NOT NULL,
    duration         INT          NOT NULL DEFAULT 0,
    job_state        VARCHAR(255) NOT NULL DEFAULT "pending"
                     CHECK (job_state IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    energy           REAL         NOT NULL DEFAULT 0.0,
    energy_footprint TEXT         DEFAULT NULL,
    UNIQUE (job_id, cluster, start_time)
);

INSERT INTO job_new (id, job_id, cluster, start_time, duration, job_state)
SELECT id, job_id, cluster, start_time, duration, job_state FROM job;

DROP TABLE job;
ALTER TABLE job_new RENAME TO job;

PRAGMA optimize;
