DELETE FROM applied WHERE v = 4;
