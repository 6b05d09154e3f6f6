INSERT INTO applied (v) VALUES (6);
