-- This file must be ignored by the runner: its name does not parse as a migration.
THIS FILE MUST NEVER BE EXECUTED;
