-- Items table, written with CRLF line endings.
CREATE TABLE items (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL -- a comment that ends in CR LF
);
