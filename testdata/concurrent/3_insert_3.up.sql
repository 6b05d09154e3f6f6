INSERT INTO applied (v) VALUES (3);
