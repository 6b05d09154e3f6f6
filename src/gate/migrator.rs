//! The start-up gate on an open [`Migrator`].

use super::check::{check, needs_apply};
use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::status::{GateStatus, Policy};

impl Migrator {
    /// The start-up gate on an open migrator (see [`crate::gate::gate()`] for the URL form, which also
    /// reports a missing file instead of creating it).
    pub fn gate(&mut self, policy: Policy) -> Result<GateStatus> {
        let status = check(self)?;
        if policy == Policy::ApplyPending && needs_apply(&status) {
            match self.up() {
                Ok(_) | Err(Error::NoChange) => {}
                Err(e) => return Err(e),
            }
            return check(self)?.require(policy);
        }
        status.require(policy)
    }
}
