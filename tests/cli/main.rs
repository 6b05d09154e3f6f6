//! Integration tests: the real `migrate` binary, transcripts snapshotted with insta,
//! database state checked directly.

mod harness;

mod bad_input;
mod binary;
mod compat;
mod concurrency;
mod diverges;
mod journal;
mod mixed;
mod safety;
mod transcripts;
