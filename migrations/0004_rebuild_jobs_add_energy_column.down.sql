-- Rebuild `jobs` back to its 0003 shape (drops `energy` and the CHECKs).
CREATE TABLE jobs_old (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    cluster      TEXT    NOT NULL,
    submitted_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
    started_at   INTEGER,
    finished_at  INTEGER
);

INSERT INTO jobs_old (id, name, cluster, submitted_at, started_at, finished_at)
SELECT id, name, cluster, submitted_at, started_at, finished_at FROM jobs;

DROP TABLE jobs;
ALTER TABLE jobs_old RENAME TO jobs;

CREATE INDEX jobs_cluster_submitted_idx ON jobs (cluster, submitted_at);
