//! `kubestrap join`.

use std::path::PathBuf;

/// Runs `kubestrap join`; returns the exit code.
pub fn run(_root: Option<PathBuf>, _args: crate::cli::JoinArgs) -> i32 {
    super::fail("kubestrap join is not implemented yet")
}
