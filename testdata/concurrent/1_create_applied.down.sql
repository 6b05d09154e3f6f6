DROP TABLE applied;
