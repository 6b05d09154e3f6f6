CREATE TABLE IF NOT EXISTS job (
    id         INTEGER PRIMARY KEY,
    job_id     BIGINT       NOT NULL,
    cluster    VARCHAR(255) NOT NULL,
    start_time BIGINT       NOT NULL,
    duration   INT          NOT NULL DEFAULT 0,
    job_state  VARCHAR(255) NOT NULL DEFAULT "pending"
               CHECK (job_state IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    UNIQUE (job_id, cluster, start_time)
);

CREATE TABLE IF NOT EXISTS tag (
    id        INTEGER PRIMARY KEY,
    tag_type  VARCHAR(255) NOT NULL DEFAULT "unknown",
    tag_name  VARCHAR(255) NOT NULL,
    tag_scope VARCHAR(255) NOT NULL DEFAULT "global",
    UNIQUE (tag_type, tag_name, tag_scope)
);

CREATE TABLE IF NOT EXISTS jobtag (
    job_id INTEGER,
    tag_id INTEGER,
    PRIMARY KEY (job_id, tag_id),
    FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE,
    FOREIGN KEY (tag_id) REFERENCES tag (id) ON DELETE CASCADE
);
