CREATE INDEX items_name_idx
    ON items (name);
INSERT INTO items (name)
VALUES ('first');
