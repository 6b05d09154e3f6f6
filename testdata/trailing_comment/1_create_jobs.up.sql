CREATE TABLE jobs (
    id    INTEGER PRIMARY KEY,
    state TEXT NOT NULL DEFAULT 'pending'
);
