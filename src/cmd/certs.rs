//! `kubestrap certs`: check-expiration, renew and certificate-key (kubeadm's
//! `app/cmd/certs.go`).

use std::path::{Path, PathBuf};

use crate::cli::{CertsCommand, CertsFlags};
use crate::day2::certs::{self, Files, Renewed};
use crate::host::{Host, RealHost};

/// The kubeconfig folder kubeadm's renewal manager reads.
const KUBE_DIR: &str = "/etc/kubernetes";

fn host(root: &Option<PathBuf>, dry_run: bool) -> Result<RealHost, String> {
    RealHost::new(root.clone().unwrap_or_else(|| PathBuf::from("/")), dry_run)
        .map_err(|e| format!("--root: {e}"))
}

/// Runs `kubestrap certs`; returns the exit code.
pub fn run(root: Option<PathBuf>, cmd: CertsCommand) -> i32 {
    match cmd {
        CertsCommand::CertificateKey => {
            match crate::phases::upload_certs::generate_certificate_key() {
                Ok(k) => {
                    println!("{k}");
                    0
                }
                Err(e) => super::fail(e.chain()),
            }
        }
        CertsCommand::CheckExpiration { flags, output } => {
            match check_expiration(&root, &flags, &output) {
                Ok(()) => 0,
                Err(e) => super::fail(e),
            }
        }
        CertsCommand::Renew { name, flags } => match renew(&root, &flags, &name) {
            Ok(()) => 0,
            Err(e) => super::fail(e),
        },
    }
}

fn config(
    host: &dyn Host,
    flags: &CertsFlags,
    prefix: &str,
) -> Result<(crate::config::InitConfig, Vec<String>), String> {
    crate::day2::certs_config(
        host,
        flags.config.as_deref(),
        &flags.kubeconfig,
        flags.cert_dir.as_deref(),
        prefix,
        &host.facts(),
    )
}

/// `certs check-expiration`: the table (or `-o json|yaml`) on standard output; unreadable
/// files and certificates expiring within 30 days as warnings on standard error.
pub fn check_expiration(
    root: &Option<PathBuf>,
    flags: &CertsFlags,
    output: &str,
) -> Result<(), String> {
    let h = host(root, true)?;
    let (cfg, lines) = config(&h, flags, "check-expiration")?;
    if output == "text" {
        for l in &lines {
            println!("{l}");
        }
    } else {
        for l in &lines {
            eprintln!("{l}");
        }
    }
    let files = Files {
        host: &h,
        cert_dir: Path::new(&cfg.cluster.certificates_dir),
        kube_dir: Path::new(KUBE_DIR),
    };
    let info = certs::expiration_info(&files, cfg.cluster.etcd.external.is_some(), certs::now());
    match output {
        "json" => {
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(&info, &mut ser).map_err(|e| e.to_string())?;
            println!("{}", String::from_utf8_lossy(&buf));
        }
        "yaml" => {
            let v = serde_json::to_value(&info).map_err(|e| e.to_string())?;
            let y = serde_yaml::to_string(&v).map_err(|e| e.to_string())?;
            // Go's YAML quotes strings that look like timestamps; serde_yaml does not.
            let y: String = y
                .lines()
                .map(|l| match l.split_once("expirationDate: ") {
                    Some((head, t)) if t.starts_with(|c: char| c.is_ascii_digit()) => {
                        format!("{head}expirationDate: \"{t}\"\n")
                    }
                    _ => format!("{l}\n"),
                })
                .collect();
            print!("{y}");
        }
        _ => print!("{}", certs::format_text(&info)),
    }
    let warnings = certs::warnings(&info);
    if !warnings.is_empty() {
        eprintln!();
    }
    for w in warnings {
        eprintln!("[check-expiration] WARNING: {w}");
    }
    Ok(())
}

/// `certs renew <name>|all`: kubeadm's lines (`<long name> renewed`, `MISSING! <long name>`,
/// `Detected external <ca>, <long name> can't be renewed`) and, after `all`, the restart
/// notice.
pub fn renew(root: &Option<PathBuf>, flags: &CertsFlags, name: &str) -> Result<(), String> {
    let h = host(root, false)?;
    let (cfg, lines) = config(&h, flags, "renew")?;
    for l in &lines {
        println!("{l}");
    }
    let files = Files {
        host: &h,
        cert_dir: Path::new(&cfg.cluster.certificates_dir),
        kube_dir: Path::new(KUBE_DIR),
    };
    let list: Vec<&certs::Handler> = if name == "all" {
        certs::handlers(cfg.cluster.etcd.external.is_some())
    } else {
        vec![
            certs::handler(name)
                .ok_or_else(|| format!("{name} is not a valid certificate for this cluster"))?,
        ]
    };
    for hd in list {
        match certs::renew(&files, &cfg, hd)? {
            Renewed::Missing => println!("MISSING! {}", hd.long_name),
            Renewed::ExternalCa { ca_key } => {
                println!(
                    "Detected external {}, {} can't be renewed",
                    hd.ca_base, hd.long_name
                );
                println!(
                    "  ({} is absent: the CA that signs it is managed outside this cluster; have it sign a new certificate)",
                    ca_key.display()
                );
            }
            Renewed::Done => println!("{} renewed", hd.long_name),
        }
    }
    if name == "all" {
        print!(
            "\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.\n"
        );
    }
    Ok(())
}
