-- The job list is filtered by cluster and sorted by submission time.
CREATE INDEX jobs_cluster_submitted_idx ON jobs (cluster, submitted_at);
