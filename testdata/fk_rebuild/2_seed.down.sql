DELETE FROM child WHERE id IN (1, 2, 3);
DELETE FROM parent WHERE id IN (1, 2);
