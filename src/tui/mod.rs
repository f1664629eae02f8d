//! The interactive wizard (ratatui + crossterm, tui-input): state, update, view.

use std::path::PathBuf;

/// Runs the init wizard on the terminal; returns the process exit code.
pub fn run_init(_root: Option<PathBuf>, _args: crate::cli::InitArgs) -> i32 {
    crate::cmd::fail("the init wizard is not implemented yet; pass --non-interactive")
}
