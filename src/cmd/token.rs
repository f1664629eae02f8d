//! `kubestrap token`.

use std::path::PathBuf;

/// Runs `kubestrap token`; returns the exit code.
pub fn run(_root: Option<PathBuf>, _args: crate::cli::TokenCommand) -> i32 {
    super::fail("kubestrap token is not implemented yet")
}
