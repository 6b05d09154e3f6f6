CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER, title VARCHAR(100));
CREATE INDEX posts_user_id_idx ON posts (user_id);
