//! The `kubestrap` binary: parse the command line, pick a face, run.

use clap::Parser;

fn main() {
    let cli = kubestrap::cli::Cli::parse();
    let code = kubestrap::cmd::run(cli);
    std::process::exit(code);
}
