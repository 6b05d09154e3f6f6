CREATE TABLE tag (
    id        INTEGER PRIMARY KEY,
    tag_type  VARCHAR(255) NOT NULL DEFAULT "unknown",
    tag_name  VARCHAR(255) NOT NULL DEFAULT "",
    tag_scope VARCHAR(255) NOT NULL DEFAULT "global"
);
INSERT INTO tag (tag_type) VALUES ("x");
INSERT INTO tag (tag_name) VALUES ("lowutil");
