CREATE TABLE job_old (
    id         INTEGER PRIMARY KEY,
    job_id     BIGINT       NOT NULL,
    cluster    VARCHAR(255) NOT NULL,
    start_time BIGINT       NOT NULL,
    duration   INT          NOT NULL DEFAULT 0,
    job_state  VARCHAR(255) NOT NULL DEFAULT "pending"
               CHECK (job_state IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    UNIQUE (job_id, cluster, start_time)
);

INSERT INTO job_old (id, job_id, cluster, start_time, duration, job_state)
SELECT id, job_id, cluster, start_time, duration, job_state FROM job;

DROP TABLE job;
ALTER TABLE job_old RENAME TO job;

-- The up file's PRAGMA optimize runs ANALYZE on recent SQLite (seen with 3.50.2,
-- the rusqlite bundled build; not with 3.40.1), which creates sqlite_stat1 and,
-- with SQLITE_ENABLE_STAT4, sqlite_stat4. Drop them so the down path really ends
-- with an empty schema. SQLite allows DROP TABLE on these internal tables.
DROP TABLE IF EXISTS sqlite_stat4;
DROP TABLE IF EXISTS sqlite_stat1;
