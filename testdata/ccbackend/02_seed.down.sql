DELETE FROM jobtag WHERE job_id = 1 AND tag_id = 1;
DELETE FROM tag WHERE id = 1;
DELETE FROM job WHERE id = 1;
