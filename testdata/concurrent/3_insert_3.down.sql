DELETE FROM applied WHERE v = 3;
