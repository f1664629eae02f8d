//! etcd: for local etcd, its ports and an empty data directory (`Port-2379`, `Port-2380`,
//! `DirAvailable-*`); for external etcd, the client certificates exist
//! (`ExternalEtcdClientCertificates`) and every endpoint runs a version kubeadm supports
//! (`ExternalEtcdVersion`).

use std::path::Path;

use super::files::port_check;
use super::{CheckResult, path_check_suffix};
use crate::engine::PhaseCtx;
use crate::host::Host;

/// The etcd checks of init, in kubeadm's order: external etcd's client certificates and
/// version, or local etcd's ports and data directory.
pub(super) fn etcd_checks(ctx: &PhaseCtx, minor: u32) -> Vec<CheckResult> {
    let host = ctx.host.as_ref();
    let mut out = Vec::new();
    if let Some(ext) = &ctx.cfg.cluster.etcd.external {
        let missing: Vec<&str> = [&ext.ca_file, &ext.cert_file, &ext.key_file]
            .into_iter()
            .filter(|f| !f.is_empty() && !host.exists(Path::new(f.as_str())))
            .map(String::as_str)
            .collect();
        out.push(if missing.is_empty() {
            CheckResult::pass("ExternalEtcdClientCertificates")
        } else {
            CheckResult::error(
                "ExternalEtcdClientCertificates",
                format!("{} doesn't exist", missing.join(", ")),
            )
        });
        out.push(external_etcd_version_check(
            host,
            ext,
            minor,
            &EtcdVersionProbe::default(),
        ));
    } else {
        out.push(port_check(host, 2379));
        out.push(port_check(host, 2380));
        let dir = &ctx.paths.etcd_data_dir;
        let name = format!("DirAvailable-{}", path_check_suffix(&dir.to_string_lossy()));
        let entries = host.read_dir(dir).unwrap_or_default();
        out.push(if entries.is_empty() {
            CheckResult::pass(&name)
        } else {
            CheckResult::error(&name, format!("{} is not empty", dir.display()))
        });
    }
    out
}

/// kubeadm's `MinExternalEtcdVersion` for a target Kubernetes minor: `(major, minor, patch)`.
/// kubeadm v1.34.4, v1.35.4, v1.36.3 and v1.37.2 all require 3.5.24
/// (`MinExternalEtcdVersion` in cmd/kubeadm/app/constants/constants.go of each).
pub fn min_external_etcd_version(_minor: u32) -> (u64, u64, u64) {
    (3, 5, 24)
}

/// How the `ExternalEtcdVersion` check asks each endpoint: per-request timeout, attempts and
/// the pause between them. The default is kubeadm's (10 s, 3 attempts, 5 s).
#[derive(Debug, Clone)]
pub struct EtcdVersionProbe {
    pub timeout: std::time::Duration,
    pub attempts: u32,
    pub interval: std::time::Duration,
}

impl Default for EtcdVersionProbe {
    fn default() -> Self {
        EtcdVersionProbe {
            timeout: std::time::Duration::from_secs(10),
            attempts: 3,
            interval: std::time::Duration::from_secs(5),
        }
    }
}

/// Parses an etcd version such as `3.5.16` (or `v3.5.16-0`) into `(major, minor, patch)`.
pub fn parse_etcd_version(v: &str) -> Option<(u64, u64, u64)> {
    let v = v.trim().trim_start_matches('v');
    let core = v.split(['-', '+']).next()?;
    let mut it = core.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    let patch = it.next().unwrap_or("0").parse().ok()?;
    Some((major, minor, patch))
}

/// The HTTP client for the external etcd endpoints: no proxy, `probe.timeout` per request,
/// TLS trusting only `caFile` when set and presenting `certFile`/`keyFile` when set (files
/// read through the host). Errors name the file that could not be read or parsed.
fn etcd_client(
    host: &dyn Host,
    ext: &crate::config::ExternalEtcd,
    probe: &EtcdVersionProbe,
) -> Result<reqwest::Client, String> {
    let read = |field: &str, f: &str| {
        host.read(Path::new(f))
            .map_err(|e| format!("etcd.external.{field} {f}: {e}"))
    };
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .timeout(probe.timeout)
        .connect_timeout(probe.timeout);
    if !ext.ca_file.is_empty() {
        let pem = read("caFile", &ext.ca_file)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            format!(
                "etcd.external.caFile {}: not a PEM certificate: {e}",
                ext.ca_file
            )
        })?;
        b = b.tls_certs_only(certs);
    }
    if !ext.cert_file.is_empty() && !ext.key_file.is_empty() {
        let mut pem = read("certFile", &ext.cert_file)?;
        pem.push(b'\n');
        pem.extend(read("keyFile", &ext.key_file)?);
        let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
            format!(
                "etcd.external.certFile {} / keyFile {}: not a PEM certificate and key: {e}",
                ext.cert_file, ext.key_file
            )
        })?;
        b = b.identity(id);
    }
    b.build()
        .map_err(|e| format!("cannot build the etcd HTTP client: {e}"))
}

/// GET `<endpoint>/version` once; `Ok(etcdserver version string)`.
async fn etcd_server_version(client: &reqwest::Client, endpoint: &str) -> Result<String, String> {
    let url = format!("{}/version", endpoint.trim_end_matches('/'));
    let resp = client.get(&url).send().await.map_err(|e| {
        format!(
            "failed to get {url}: {}",
            crate::phases::wait_control_plane::describe_error(&e)
        )
    })?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| format!("failed to read the answer of {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url} answered HTTP {}", status.as_u16()));
    }
    let v: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| format!("{url} did not answer etcd's version JSON: {e}"))?;
    v.get("etcdserver")
        .and_then(|s| s.as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "{url} answered without an \"etcdserver\" version: {}",
                body.trim()
            )
        })
}

/// `ExternalEtcdVersion` (kubeadm's `ExternalEtcdVersionCheck`): every endpoint of
/// `etcd.external` answers `GET /version` with an `etcdserver` version ≥
/// [`min_external_etcd_version`] for `minor`. Each endpoint is tried `probe.attempts` times
/// (`probe.timeout` each, `probe.interval` apart); runs on its own thread and runtime, so it
/// may be called from synchronous code inside or outside tokio. Error message: one entry
/// per failing endpoint (`connection refused`, TLS errors, a too old version).
pub fn external_etcd_version_check(
    host: &dyn Host,
    ext: &crate::config::ExternalEtcd,
    minor: u32,
    probe: &EtcdVersionProbe,
) -> CheckResult {
    const NAME: &str = "ExternalEtcdVersion";
    let client = match etcd_client(host, ext, probe) {
        Ok(c) => c,
        Err(e) => return CheckResult::error(NAME, e),
    };
    let (ma, mi, pa) = min_external_etcd_version(minor);
    let min = format!("{ma}.{mi}.{pa}");
    let endpoints = ext.endpoints.clone();
    let outcome = std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime for the etcd requests: {e}"))?;
            Ok::<Vec<String>, String>(rt.block_on(async {
                let mut problems = Vec::new();
                for ep in &endpoints {
                    let mut last = String::new();
                    let mut got = None;
                    for i in 0..probe.attempts.max(1) {
                        if i > 0 {
                            tokio::time::sleep(probe.interval).await;
                        }
                        match etcd_server_version(&client, ep).await {
                            Ok(v) => {
                                got = Some(v);
                                break;
                            }
                            Err(e) => last = e,
                        }
                    }
                    let Some(v) = got else {
                        problems.push(last);
                        continue;
                    };
                    match parse_etcd_version(&v) {
                        None => problems.push(format!("{ep}: couldn't parse the etcd version {v:?}")),
                        Some(have) if have < (ma, mi, pa) => problems.push(format!(
                            "{ep}: this version of kubestrap (like kubeadm for Kubernetes v1.{minor}) only supports external etcd version >= {min}. Current version: {v}"
                        )),
                        Some(_) => {}
                    }
                }
                problems
            }))
        })
        .join()
        .unwrap_or_else(|_| Err("the etcd version request thread panicked".into()))
    });
    match outcome {
        Ok(p) if p.is_empty() => CheckResult::pass(NAME),
        Ok(p) => CheckResult::error(NAME, p.join("; ")),
        Err(e) => CheckResult::error(NAME, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_versions() {
        assert_eq!(parse_etcd_version("3.4.23"), Some((3, 4, 23)));
        assert_eq!(parse_etcd_version("v3.5.24-0"), Some((3, 5, 24)));
        assert_eq!(parse_etcd_version("3.6"), Some((3, 6, 0)));
        assert_eq!(parse_etcd_version("three"), None);
        assert!(parse_etcd_version("3.4.23").unwrap() < min_external_etcd_version(33));
        assert!(parse_etcd_version("3.5.24").unwrap() >= min_external_etcd_version(34));
    }
}
