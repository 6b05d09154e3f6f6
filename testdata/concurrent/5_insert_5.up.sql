INSERT INTO applied (v) VALUES (5);
