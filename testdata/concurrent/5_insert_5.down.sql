DELETE FROM applied WHERE v = 5;
