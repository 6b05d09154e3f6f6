-- Add `energy` and CHECK constraints on existing columns. ALTER TABLE cannot
-- add a table constraint, so `jobs` is rebuilt the way
-- https://www.sqlite.org/lang_altertable.html#otheralter describes.
--
-- `jobtags` references `jobs` with ON DELETE CASCADE: if this ran with foreign
-- keys ON, "DROP TABLE jobs" would delete every row of `jobtags`. The migrate
-- runner turns foreign keys OFF around each migration file and runs
-- PRAGMA foreign_key_check before committing, so the links survive.
CREATE TABLE jobs_new (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    cluster      TEXT    NOT NULL,
    submitted_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
    started_at   INTEGER,
    finished_at  INTEGER,
    energy       REAL    NOT NULL DEFAULT 0 CHECK (energy >= 0),
    CHECK (started_at IS NULL OR started_at >= submitted_at),
    CHECK (finished_at IS NULL OR (started_at IS NOT NULL AND finished_at >= started_at))
);

INSERT INTO jobs_new (id, name, cluster, submitted_at, started_at, finished_at)
SELECT id, name, cluster, submitted_at, started_at, finished_at FROM jobs;

DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;

-- Indexes belong to the old table and were dropped with it.
CREATE INDEX jobs_cluster_submitted_idx ON jobs (cluster, submitted_at);
