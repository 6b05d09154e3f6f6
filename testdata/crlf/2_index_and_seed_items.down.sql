DELETE FROM items WHERE name = 'first';
DROP INDEX items_name_idx;
