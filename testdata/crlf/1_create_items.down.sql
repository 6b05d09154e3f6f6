DROP TABLE items;
