DROP TRIGGER accounts_after_insert;
DROP TABLE account_audit;
DROP TABLE accounts;
