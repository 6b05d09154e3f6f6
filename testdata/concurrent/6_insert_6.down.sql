DELETE FROM applied WHERE v = 6;
