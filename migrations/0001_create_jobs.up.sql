-- Jobs submitted to the job server.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    cluster      TEXT    NOT NULL,
    submitted_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
    started_at   INTEGER,
    finished_at  INTEGER
);
