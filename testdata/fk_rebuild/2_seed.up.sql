INSERT INTO parent (id, name) VALUES (1, 'p1'), (2, 'p2');
INSERT INTO child (id, parent_id) VALUES (1, 1), (2, 1), (3, 2);
