-- migrate:no-transaction
CREATE INDEX CONCURRENTLY items_name_idx ON items (name);
CREATE INDEX CONCURRENTLY items_id_name_idx ON items (id, name);
