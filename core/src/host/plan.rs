//! The ordered, bounded list of actions ([`Plan`]) and its undo.

use core::fmt;

use super::{HostAction, PLAN_MAX, PlanError};

/// An ordered list of at most [`PLAN_MAX`] host actions, applied first to last.
///
/// `Display` prints one command per line, each line ending in a newline (an empty plan
/// prints nothing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Plan {
    actions: heapless::Vec<HostAction, PLAN_MAX>,
}

impl Plan {
    /// An empty plan.
    pub const fn new() -> Plan {
        Plan {
            actions: heapless::Vec::new(),
        }
    }

    /// Appends an action.
    pub fn push(&mut self, action: HostAction) -> Result<(), PlanError> {
        self.actions.push(action).map_err(|_| PlanError::Full)
    }

    /// Appends an action unless the plan already holds an equal one.
    pub fn push_unique(&mut self, action: HostAction) -> Result<(), PlanError> {
        if self.actions.contains(&action) {
            return Ok(());
        }
        self.push(action)
    }

    /// Appends every action of another plan.
    pub fn append(&mut self, other: &Plan) -> Result<(), PlanError> {
        other.iter().try_for_each(|a| self.push(a.clone()))
    }

    /// The actions, in order.
    pub fn actions(&self) -> &[HostAction] {
        &self.actions
    }

    /// Iterates over the actions in order.
    pub fn iter(&self) -> core::slice::Iter<'_, HostAction> {
        self.actions.iter()
    }

    /// The number of actions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether the plan does nothing.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The rollback: the inverse of every action that has one, last action first.
    /// Applying a plan and then its rollback leaves the host as it was, except for what
    /// the actions without an inverse changed (see [`HostAction::undo`]).
    pub fn undo(&self) -> Plan {
        let mut out = Plan::new();
        for inverse in self.actions.iter().rev().filter_map(HostAction::undo) {
            // At most as many inverses as actions, so this never overflows.
            let _ = out.actions.push(inverse);
        }
        out
    }
}

impl<'a> IntoIterator for &'a Plan {
    type Item = &'a HostAction;
    type IntoIter = core::slice::Iter<'a, HostAction>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.actions.iter().try_for_each(|a| writeln!(f, "{a}"))
    }
}
