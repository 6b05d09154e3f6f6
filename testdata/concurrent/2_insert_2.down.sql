DELETE FROM applied WHERE v = 2;
