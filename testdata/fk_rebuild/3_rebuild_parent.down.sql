CREATE TABLE parent_old (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO parent_old (id, name) SELECT id, name FROM parent;
DROP TABLE parent;
ALTER TABLE parent_old RENAME TO parent;
