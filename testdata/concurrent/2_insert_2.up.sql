INSERT INTO applied (v) VALUES (2);
