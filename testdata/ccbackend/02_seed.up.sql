INSERT INTO job (id, job_id, cluster, start_time, duration, job_state)
VALUES (1, 4711, "fritz", 1700000000, 3600, "completed");
INSERT INTO tag (id, tag_type, tag_name) VALUES (1, "jobClass", "lowutil");
INSERT INTO jobtag (job_id, tag_id) VALUES (1, 1);
