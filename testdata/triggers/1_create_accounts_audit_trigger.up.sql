CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    balance    INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT
);

CREATE TABLE account_audit (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    logged_at  TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- The trigger body holds two statements separated by ';': a runner that splits
-- the file on ';' would cut the CREATE TRIGGER in the middle.
CREATE TRIGGER accounts_after_insert AFTER INSERT ON accounts
BEGIN
    INSERT INTO account_audit (account_id, action) VALUES (NEW.id, 'insert');
    UPDATE accounts SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;
