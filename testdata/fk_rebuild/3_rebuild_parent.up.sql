-- Add a column with a table rebuild, the procedure from
-- https://www.sqlite.org/lang_altertable.html#otheralter
-- With foreign keys ON, "DROP TABLE parent" first deletes every parent row and
-- ON DELETE CASCADE then deletes every child row.
CREATE TABLE parent_new (
    id         INTEGER PRIMARY KEY,
    name       TEXT,
    created_at TEXT NOT NULL DEFAULT '1970-01-01 00:00:00'
);
INSERT INTO parent_new (id, name) SELECT id, name FROM parent;
DROP TABLE parent;
ALTER TABLE parent_new RENAME TO parent;
