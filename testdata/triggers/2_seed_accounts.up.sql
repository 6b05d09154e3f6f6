INSERT INTO accounts (id, name, balance) VALUES (1, 'alice', 100);
INSERT INTO accounts (id, name, balance) VALUES (2, 'bob; the builder', 50);
