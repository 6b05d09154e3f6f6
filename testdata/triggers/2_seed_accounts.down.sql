DELETE FROM account_audit WHERE account_id IN (1, 2);
DELETE FROM accounts WHERE id IN (1, 2);
