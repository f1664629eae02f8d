//! Command handlers: one module per top-level command. Each returns the process exit code
//! (0 success, 1 failure; clap itself exits 2 on usage errors).

pub mod certs;
pub mod config;
pub mod images;
pub mod init;
pub mod join;
pub mod kubeconfig;
pub mod reset;
pub mod token;
pub mod upgrade;

use clap::CommandFactory;

use crate::cli::{Cli, Command};

pub use crate::cli::fail;

/// Runs the parsed command line and returns the exit code.
pub fn run(cli: Cli) -> i32 {
    let root = cli.root.clone();
    match cli.command {
        Command::Init(args) => init::run(root, args),
        Command::Join(args) => join::run(root, args),
        Command::Config(c) => config::run(root, c),
        Command::Token(t) => token::run(root, t),
        Command::Reset(a) => reset::run(root, a),
        Command::Certs(c) => certs::run(root, c),
        Command::Kubeconfig(k) => kubeconfig::run(root, k),
        Command::Upgrade(u) => upgrade::run(root, u),
        Command::Version(v) => {
            if v.output.as_deref() == Some("short") {
                println!("v{}", env!("CARGO_PKG_VERSION"));
            } else {
                println!(
                    "kubestrap v{} (Kubernetes {}: {}; default {})",
                    env!("CARGO_PKG_VERSION"),
                    crate::config::versions::supported_range(),
                    crate::config::versions::carried_list(),
                    crate::config::versions::default_version()
                );
            }
            0
        }
        Command::Completion { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "kubestrap",
                &mut std::io::stdout(),
            );
            0
        }
        Command::Man => {
            let man = clap_mangen::Man::new(Cli::command());
            match man.render(&mut std::io::stdout()) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: writing the man page: {e}");
                    1
                }
            }
        }
    }
}

/// Ends a dry run: removes (or keeps, when asked) its directory and prints the last line that
/// says which, as text or as a JSON `log` event.
pub fn print_dry_run_end(dir: crate::host::DryRunDir, format: crate::cli::OutputFormat) {
    let last = dir.finish();
    match format {
        crate::cli::OutputFormat::Text => println!("[dryrun] {last}"),
        crate::cli::OutputFormat::Json => println!(
            "{}",
            crate::output::json::format(&crate::engine::Event::Log {
                level: crate::engine::LogLevel::Info,
                phase: Some("dryrun".into()),
                message: last,
            })
        ),
    }
}
