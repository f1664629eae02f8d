//! `kubestrap init`.

use std::path::PathBuf;

/// Runs `kubestrap init`; returns the exit code.
pub fn run(_root: Option<PathBuf>, _args: crate::cli::InitArgs) -> i32 {
    super::fail("kubestrap init is not implemented yet")
}
