DROP INDEX IF EXISTS jobs_jobstate_energy;
DROP INDEX IF EXISTS jobs_cluster_starttime;
