//! `kubestrap init`.

use std::path::PathBuf;

/// Runs `kubestrap init`; returns the exit code. Without `--non-interactive` this opens the
/// wizard ([`crate::tui::run_init`]), which refuses to run when stdin is not a terminal.
pub fn run(root: Option<PathBuf>, args: crate::cli::InitArgs) -> i32 {
    if !args.non_interactive && args.phase.is_none() {
        return crate::tui::run_init(root, args);
    }
    super::fail("kubestrap init --non-interactive is not implemented yet")
}
