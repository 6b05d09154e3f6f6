-- Keep a log of job life-cycle events, written by triggers. The log outlives
-- the jobs, so there is deliberately no foreign key to `jobs`.
CREATE TABLE job_events (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);

CREATE INDEX job_events_job_id_idx ON job_events (job_id);

CREATE TRIGGER jobs_audit_submitted
AFTER INSERT ON jobs
BEGIN
    INSERT INTO job_events (job_id, event) VALUES (NEW.id, 'submitted');
END;

CREATE TRIGGER jobs_audit_finished
AFTER UPDATE OF finished_at ON jobs
WHEN OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL
BEGIN
    INSERT INTO job_events (job_id, event) VALUES (NEW.id, 'finished');
END;
