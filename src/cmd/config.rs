//! `kubestrap config`.

use std::path::PathBuf;

/// Runs `kubestrap config`; returns the exit code.
pub fn run(_root: Option<PathBuf>, _args: crate::cli::ConfigCommand) -> i32 {
    super::fail("kubestrap config is not implemented yet")
}
