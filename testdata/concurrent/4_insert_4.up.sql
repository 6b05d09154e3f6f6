INSERT INTO applied (v) VALUES (4);
