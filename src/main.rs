//! The `kubestrap` binary: parse the command line, pick a face, run.

use clap::Parser;

fn main() {
    // Like kubeadm (and most Unix tools), end quietly when the reader of standard output
    // goes away (`kubestrap completion bash | head`) instead of panicking on EPIPE. Sockets
    // are unaffected: Rust writes to them with MSG_NOSIGNAL.
    // SAFETY: called first thing, before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = kubestrap::cli::Cli::parse();
    let code = kubestrap::cmd::run(cli);
    std::process::exit(code);
}
