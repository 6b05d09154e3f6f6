-- Free-form tags and the many-to-many link to jobs. Deleting a job or a tag
-- deletes its links.
CREATE TABLE tags (
    id       INTEGER PRIMARY KEY,
    tag_type TEXT NOT NULL,
    tag_name TEXT NOT NULL,
    UNIQUE (tag_type, tag_name)
);

CREATE TABLE jobtags (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, tag_id)
);

CREATE INDEX jobtags_tag_id_idx ON jobtags (tag_id);
