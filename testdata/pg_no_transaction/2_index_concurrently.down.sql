-- migrate:no-transaction
DROP INDEX CONCURRENTLY items_id_name_idx;
DROP INDEX CONCURRENTLY items_name_idx;
