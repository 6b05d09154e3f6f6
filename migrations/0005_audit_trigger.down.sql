DROP TRIGGER jobs_audit_finished;
DROP TRIGGER jobs_audit_submitted;
DROP TABLE job_events;
