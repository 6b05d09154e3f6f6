INSERT INTO parent (id, name) VALUES (1, 'p1');
