//! `kubestrap config images list|pull` (kubeadm's `app/cmd/config.go`).

use std::path::PathBuf;

use crate::cli::{ImagesCommand, ImagesFlags, InitFlags};
use crate::day2::images::{Images, list};
use crate::host::{Host, RealHost};

fn resolve(
    host: &dyn Host,
    f: &ImagesFlags,
    cri_socket: Option<String>,
) -> Result<crate::config::InitConfig, String> {
    let flags = InitFlags {
        config: f.config.clone(),
        kubernetes_version: f.kubernetes_version.clone(),
        image_repository: f.image_repository.clone(),
        cri_socket,
        ..InitFlags::default()
    };
    let (mut cfg, warnings) = crate::day2::load_init_config(&flags, &host.facts(), false)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    if let Some(g) = f.feature_gates.as_deref().filter(|g| !g.is_empty()) {
        for kv in g.split(',') {
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                format!("--feature-gates: {kv:?} is not key=value (e.g. SomeGate=true)")
            })?;
            let b = v.trim().parse::<bool>().map_err(|_| {
                format!("--feature-gates: {k}={v:?}: the value must be true or false")
            })?;
            cfg.cluster.feature_gates.insert(k.trim().to_string(), b);
        }
    }
    Ok(cfg)
}

/// Runs `kubestrap config images`; returns the exit code.
pub fn run(root: Option<PathBuf>, cmd: ImagesCommand) -> i32 {
    let host = match RealHost::new(root.unwrap_or_else(|| PathBuf::from("/")), false) {
        Ok(h) => h,
        Err(e) => return super::fail(format!("--root: {e}")),
    };
    match cmd {
        ImagesCommand::List { flags, output } => {
            let cfg = match resolve(&host, &flags, None) {
                Ok(c) => c,
                Err(e) => return super::fail(e),
            };
            let images = list(&cfg);
            match output.as_str() {
                "json" => {
                    let mut buf = Vec::new();
                    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
                    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
                    if let Err(e) = serde::Serialize::serialize(&Images::new(images), &mut ser) {
                        return super::fail(e);
                    }
                    println!("{}", String::from_utf8_lossy(&buf));
                }
                // Keys sorted, as Go's YAML printer writes them.
                "yaml" => match serde_json::to_value(Images::new(images))
                    .map_err(|e| e.to_string())
                    .and_then(|v| serde_yaml::to_string(&v).map_err(|e| e.to_string()))
                {
                    Ok(s) => print!("{s}"),
                    Err(e) => return super::fail(e),
                },
                _ => println!("{}", images.join("\n")),
            }
            0
        }
        ImagesCommand::Pull { flags, cri_socket } => {
            let cfg = match resolve(&host, &flags, cri_socket) {
                Ok(c) => c,
                Err(e) => return super::fail(e),
            };
            let socket = if cfg.init.node_registration.cri_socket.is_empty() {
                match crate::day2::reset::detect_cri_socket(&host) {
                    Ok(s) => s,
                    Err(e) => return super::fail(e),
                }
            } else {
                cfg.init.node_registration.cri_socket.clone()
            };
            for image in list(&cfg) {
                if let Err(e) = crate::host::runtime::pull_image(&host, &socket, &image) {
                    return super::fail(format!("failed to pull image {image:?}: {e}"));
                }
                println!("[config/images] Pulled {image}");
            }
            0
        }
    }
}
