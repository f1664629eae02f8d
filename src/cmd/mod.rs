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

/// The signals a non-interactive init or join treats as an interrupt: SIGINT (Ctrl-C) and
/// SIGTERM (`kill`, a service manager stopping the run). The first cancels the run (waits
/// stop, the run ends at the next safe point, a dry run removes its directory, the exit
/// code is [`crate::cli::EXIT_INTERRUPTED`]); the second exits at once.
pub struct Interrupts {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    /// Installs the handlers (inside a tokio runtime). A handler that cannot be installed
    /// leaves that signal's default action in place.
    pub fn new() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Interrupts {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Waits for the next SIGINT or SIGTERM and names it (`Ctrl-C`, `SIGTERM`); never
    /// returns when neither handler is installed.
    pub async fn next(&mut self) -> &'static str {
        async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
            let got = match s {
                Some(s) => s.recv().await.is_some(),
                None => false,
            };
            if !got {
                std::future::pending::<()>().await
            }
        }
        tokio::select! {
            _ = recv(&mut self.int) => "Ctrl-C",
            _ = recv(&mut self.term) => "SIGTERM",
        }
    }
}

impl Default for Interrupts {
    fn default() -> Self {
        Self::new()
    }
}
