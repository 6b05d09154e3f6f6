//! Integration tests: the real `migrate` binary, transcripts snapshotted with insta,
//! database state checked directly.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/harness.rs"]
mod harness;

mod command_line;

mod bad_input;
mod binary;
mod compat;
mod concurrency;
mod diverges;
mod exit_codes;
mod first_contact;
mod go_format;
mod journal;
mod mixed;
mod output;
mod recover;
mod safety;
mod transcripts;
