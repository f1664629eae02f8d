//! `kubestrap kubeconfig user` (kubeadm's `app/cmd/kubeconfig.go`).

use std::path::PathBuf;

use crate::cli::{InitFlags, KubeconfigCommand};
use crate::config::GoDuration;
use crate::day2::kubeconfig_user::{DEFAULT_VALIDITY, build};
use crate::host::{Host, RealHost};

/// Runs `kubestrap kubeconfig`; the kubeconfig goes to standard output.
pub fn run(root: Option<PathBuf>, cmd: KubeconfigCommand) -> i32 {
    let KubeconfigCommand::User {
        client_name,
        org,
        token,
        validity_period,
        config,
    } = cmd;
    let validity = match GoDuration::parse(&validity_period) {
        Ok(d) => d.as_std(),
        Err(e) => return super::fail(format!("--validity-period: {e}")),
    };
    if validity > DEFAULT_VALIDITY {
        eprintln!(
            "WARNING: the specified certificate validity period {validity_period} is longer than the default duration 8760h0m0s, this may increase security risks."
        );
    }
    let host = match RealHost::new(root.unwrap_or_else(|| PathBuf::from("/")), true) {
        Ok(h) => h,
        Err(e) => return super::fail(format!("--root: {e}")),
    };
    let flags = InitFlags {
        config,
        ..InitFlags::default()
    };
    let cfg = match crate::day2::load_init_config(&flags, &host.facts(), true) {
        Ok((c, _)) => c,
        Err(e) => return super::fail(e),
    };
    match build(&host, &cfg, &client_name, &org, token.as_deref(), validity) {
        Ok(text) => {
            // kubeadm prints the YAML with Fprintln: one more newline at the end.
            println!("{text}");
            0
        }
        Err(e) => super::fail(e),
    }
}
