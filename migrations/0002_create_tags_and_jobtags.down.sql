DROP TABLE jobtags;
DROP TABLE tags;
