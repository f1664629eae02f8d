//! The `etcd` phase of `kubestrap init`: sub-phase `local` creates the etcd data directory
//! (0700) and writes the static Pod manifest `/etc/kubernetes/manifests/etcd.yaml`.
//!
//! Mirrors `cmd/kubeadm/app/cmd/phases/init/etcd.go` (`runEtcdPhaseLocal`) and
//! `cmd/kubeadm/app/phases/etcd/local.go` (`GetEtcdPodSpec`, `getEtcdCommand`).

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::net::join_host_port;
use crate::config::{Arg, InitConfig, LocalEtcd};
use crate::engine::{Paths, PhaseCtx, PhaseError};
use crate::phases::staticpod::{
    self, Component, ManifestError, PodInputs, VersionFacts, arg, arg_value, base_container,
    check_extra_args, component_pod, liveness_probe, loopback_for, merge_args, merge_env,
    readiness_probe, resources, startup_probe, volume_mount,
};

/// Sub-phases of `etcd`, in order.
pub const SUBPHASES: &[&str] = &["local"];
/// etcd client port.
pub const ETCD_CLIENT_PORT: u16 = 2379;
/// etcd peer port.
pub const ETCD_PEER_PORT: u16 = 2380;
/// etcd metrics (and probe) port.
pub const ETCD_METRICS_PORT: u16 = 2381;
/// Mode of the etcd data directory.
pub const DATA_DIR_MODE: u32 = 0o700;
/// Annotation carrying etcd's advertised client URL.
pub const ADVERTISE_CLIENT_URLS_ANNOTATION: &str =
    "kubeadm.kubernetes.io/etcd.advertise-client-urls";

/// Runs `etcd/<sub>` (`local`, or `all` for every sub-phase).
///
/// With external etcd it logs that the local manifest is skipped and succeeds. Otherwise
/// it creates the data directory with mode 0700 (in dry-run only logs `Would ensure that
/// "<dir>" directory is present`), then writes etcd.yaml (0600, directory 0700) and
/// sends [`crate::engine::Event::FileWritten`]. Errors: an unknown `sub`, bad
/// configuration (the field is named), or an io error naming the path.
pub fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    match sub {
        "local" | "all" => run_local(ctx),
        other => Err(PhaseError::new(format!(
            "unknown sub-phase {other:?} of phase \"etcd\" (known: {}, all)",
            SUBPHASES.join(", ")
        ))),
    }
}

fn run_local(ctx: &PhaseCtx) -> Result<(), PhaseError> {
    let phase = "etcd/local";
    if ctx.cfg.cluster.etcd.external.is_some() {
        ctx.events.log(
            phase,
            "[etcd] External etcd mode: Skipping the creation of a manifest for local etcd",
        );
        return Ok(());
    }
    let data_dir = &ctx.paths.etcd_data_dir;
    if !data_dir.is_absolute() {
        return Err(ManifestError::invalid(
            "etcd.local.dataDir",
            data_dir.display().to_string(),
            "must be an absolute path",
        )
        .into());
    }
    // Build first so that bad input changes nothing on disk.
    let inputs = PodInputs::gather(ctx.host.as_ref(), &ctx.paths);
    let pod = build_etcd_pod(&ctx.cfg, &inputs)?;
    staticpod::warn_unsupported_feature_gates(ctx, phase);
    if ctx.dry_run() {
        ctx.events.log(
            phase,
            format!(
                "[etcd] Would ensure that {:?} directory is present",
                data_dir.display().to_string()
            ),
        );
    } else {
        ctx.host
            .create_dir_all(data_dir, DATA_DIR_MODE)
            .map_err(|e| {
                PhaseError::new(format!(
                    "failed to create the etcd data directory {:?}",
                    data_dir.display().to_string()
                ))
                .caused_by(e)
            })?;
    }
    ctx.events.log(
        phase,
        format!(
            "[etcd] Creating static Pod manifest for local etcd in {:?}",
            ctx.paths.manifests_dir.display().to_string()
        ),
    );
    let path = staticpod::write_manifests(ctx, &[(Component::Etcd, pod)])
        .map_err(|e| PhaseError {
            message: format!(
                "error creating local etcd static pod manifest file: {}",
                e.message
            ),
            ..e
        })?
        .remove(0);
    if ctx.dry_run() {
        // kubeadm prints the etcd manifest from the etcd phase itself (the other static
        // Pods are printed by wait-control-plane): one tab-indented line per file line.
        let text = ctx.host.read(&path).map_err(|e| {
            PhaseError::new(format!("failed to read back {}", path.display())).caused_by(e)
        })?;
        let mut msg = format!(
            "[dryrun] Would write file {:?} with content:",
            path.display().to_string()
        );
        for line in String::from_utf8_lossy(&text).lines() {
            msg.push_str("\n\t");
            msg.push_str(line);
        }
        ctx.events.log(phase, msg);
    }
    Ok(())
}

fn local_etcd(cfg: &InitConfig) -> Result<&LocalEtcd, ManifestError> {
    if cfg.cluster.etcd.external.is_some() {
        return Err(ManifestError::invalid(
            "etcd.external",
            "set",
            "means etcd is not managed by kubestrap: no etcd static Pod manifest can be generated",
        ));
    }
    cfg.cluster.etcd.local.as_ref().ok_or_else(|| {
        ManifestError::invalid("etcd.local", "", "must be set when etcd.external is not")
    })
}

/// The etcd image tag: `etcd.local.imageTag` when set, else kubeadm's tag for the
/// configured Kubernetes minor (`3.5.21-0` for v1.33). Errors name `kubernetesVersion`
/// when the minor is not one kubestrap carries.
pub fn etcd_image_tag(cfg: &InitConfig) -> Result<String, ManifestError> {
    if let Some(l) = cfg
        .cluster
        .etcd
        .local
        .as_ref()
        .filter(|l| !l.image_tag.is_empty())
    {
        return Ok(l.image_tag.clone());
    }
    let v = VersionFacts::of(cfg)?;
    v.version.info().map(|i| i.etcd.to_string()).ok_or_else(|| {
        ManifestError::invalid(
            "kubernetesVersion",
            &cfg.cluster.kubernetes_version,
            format!(
                "is not a version kubestrap carries ({}); set etcd.local.imageTag or pick a supported version",
                crate::config::versions::supported_range()
            ),
        )
    })
}

/// The etcd image, `<etcd.local.imageRepository or imageRepository>/etcd:<tag>`.
pub fn etcd_image(cfg: &InitConfig) -> Result<String, ManifestError> {
    let local = cfg.cluster.etcd.local.as_ref();
    let repo = local
        .map(|l| l.image_repository.as_str())
        .filter(|r| !r.is_empty())
        .unwrap_or(&cfg.cluster.image_repository);
    Ok(staticpod::image(repo, "etcd", &etcd_image_tag(cfg)?))
}

/// True when the etcd image tag is 3.6.0 or newer (`3.6.4-0`): etcd 3.6 renamed the
/// `experimental-*` flags kubeadm sets. An unparsable tag counts as older (as kubeadm).
pub fn etcd_is_36_or_newer(tag: &str) -> bool {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    let core = t.split(['-', '+']).next().unwrap_or("");
    let nums: Vec<Option<u32>> = core.split('.').map(|p| p.parse().ok()).collect();
    match nums.as_slice() {
        [Some(maj), Some(min), Some(_)] => (*maj, *min) >= (3, 6),
        _ => false,
    }
}

fn url(scheme: &str, host: &str, port: u16) -> String {
    format!("{scheme}://{}", join_host_port(host, port))
}

/// kubeadm's default etcd flags for this node (before `etcd.local.extraArgs` are merged),
/// in kubeadm's order. Errors name the bad field (advertise address, node name, version).
pub fn default_etcd_args(cfg: &InitConfig) -> Result<Vec<Arg>, ManifestError> {
    local_etcd(cfg)?;
    let adv = staticpod::advertise_ip(cfg)?;
    let adv_s = adv.to_string();
    let node = cfg.init.node_registration.name.trim();
    if node.is_empty() {
        return Err(ManifestError::invalid(
            "nodeRegistration.name",
            node,
            "must not be empty (it names the etcd member)",
        ));
    }
    let paths = Paths::from_config(cfg);
    let pki = |f: &str| paths.pki_dir.join(f).display().to_string();
    let loopback = loopback_for(&adv);
    let client_url = url("https", &adv_s, ETCD_CLIENT_PORT);
    let peer_url = url("https", &adv_s, ETCD_PEER_PORT);
    let data_dir = paths.etcd_data_dir.display().to_string();
    let mut args = vec![
        arg("name", node),
        arg(
            "listen-client-urls",
            format!("{},{client_url}", url("https", loopback, ETCD_CLIENT_PORT)),
        ),
        arg("advertise-client-urls", &client_url),
        arg("listen-peer-urls", &peer_url),
        arg("initial-advertise-peer-urls", &peer_url),
        arg("data-dir", data_dir),
        arg("cert-file", pki("etcd/server.crt")),
        arg("key-file", pki("etcd/server.key")),
        arg("trusted-ca-file", pki("etcd/ca.crt")),
        arg("client-cert-auth", "true"),
        arg("peer-cert-file", pki("etcd/peer.crt")),
        arg("peer-key-file", pki("etcd/peer.key")),
        arg("peer-trusted-ca-file", pki("etcd/ca.crt")),
        arg("peer-client-cert-auth", "true"),
        arg("snapshot-count", "10000"),
        arg(
            "listen-metrics-urls",
            url("http", loopback, ETCD_METRICS_PORT),
        ),
        arg("initial-cluster", format!("{node}={peer_url}")),
    ];
    // From v1.36 kubeadm always writes the etcd 3.6 names; before, it chose by the image tag
    // (cmd/kubeadm/app/phases/etcd/local.go).
    if crate::config::versions::minor_of(&cfg.cluster.kubernetes_version) >= 36
        || etcd_is_36_or_newer(&etcd_image_tag(cfg)?)
    {
        args.push(arg("feature-gates", "InitialCorruptCheck=true"));
        args.push(arg("watch-progress-notify-interval", "5s"));
    } else {
        args.push(arg("experimental-initial-corrupt-check", "true"));
        args.push(arg("experimental-watch-progress-notify-interval", "5s"));
    }
    Ok(args)
}

/// Splits `scheme://host[:port][/path]` into (scheme, host without brackets, port).
/// `None` when there is no `://`.
fn parse_url(u: &str) -> Option<(String, String, Option<String>)> {
    let (scheme, rest) = u.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(r) = authority.strip_prefix('[') {
        let (host, after) = r.split_once(']')?;
        let port = after.strip_prefix(':').map(str::to_string);
        return Some((scheme.to_ascii_lowercase(), host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((
            scheme.to_ascii_lowercase(),
            h.to_string(),
            Some(p.to_string()),
        )),
        _ => Some((scheme.to_ascii_lowercase(), authority.to_string(), None)),
    }
}

/// kubeadm's `GetEtcdProbeEndpoint`: host, port and scheme (`HTTP`/`HTTPS`) of etcd's
/// probes: loopback of the advertise family on 2381 over HTTP, unless
/// `etcd.local.extraArgs` has `listen-metrics-urls`, whose first URL then gives scheme,
/// host and port (each falling back to the default when missing or invalid).
pub fn etcd_probe_endpoint(cfg: &InitConfig, ipv6: bool) -> (String, u16, &'static str) {
    let localhost = if ipv6 { "::1" } else { "127.0.0.1" };
    let default = (localhost.to_string(), ETCD_METRICS_PORT, "HTTP");
    let Some(local) = cfg.cluster.etcd.local.as_ref() else {
        return default;
    };
    let Some(v) = arg_value(&local.extra_args, "listen-metrics-urls") else {
        return default;
    };
    let first = v.split(',').next().unwrap_or("");
    let Some((scheme, host, port)) = parse_url(first) else {
        return default;
    };
    let scheme = if scheme == "https" { "HTTPS" } else { "HTTP" };
    let host = if host.is_empty() {
        localhost.to_string()
    } else {
        host
    };
    let port = port
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| *p != 0)
        .unwrap_or(ETCD_METRICS_PORT);
    (host, port, scheme)
}

/// Builds the etcd static Pod (kubeadm's `GetEtcdPodSpec` for init: one member).
/// Errors: external etcd configured, or a bad field (named).
pub fn build_etcd_pod(cfg: &InitConfig, inputs: &PodInputs) -> Result<Pod, ManifestError> {
    build_etcd_pod_with_cluster(cfg, inputs, None)
}

/// The default etcd flags of a member joining an existing cluster (kubeadm's
/// `getEtcdCommand` with a non-empty `initialCluster`): `--initial-cluster` lists every
/// `(name, peer URL)` of `members` (this node included), and `--initial-cluster-state=existing`
/// is added. Errors as [`default_etcd_args`].
pub fn joining_etcd_args(
    cfg: &InitConfig,
    members: &[(String, String)],
) -> Result<Vec<Arg>, ManifestError> {
    let mut args = default_etcd_args(cfg)?;
    let list: Vec<String> = members.iter().map(|(n, u)| format!("{n}={u}")).collect();
    if let Some(a) = args.iter_mut().find(|a| a.name == "initial-cluster") {
        a.value = list.join(",");
    }
    let at = args
        .iter()
        .position(|a| a.name == "initial-cluster")
        .map_or(args.len(), |i| i + 1);
    args.insert(at, arg("initial-cluster-state", "existing"));
    Ok(args)
}

/// Builds the etcd static Pod; with `members` (kubeadm's `initialCluster`), the Pod of a
/// member joining that cluster ([`joining_etcd_args`]); kubeadm `GetEtcdPodSpec`.
/// Errors: external etcd configured, or a bad field (named).
pub fn build_etcd_pod_with_cluster(
    cfg: &InitConfig,
    _inputs: &PodInputs,
    members: Option<&[(String, String)]>,
) -> Result<Pod, ManifestError> {
    let local = local_etcd(cfg)?;
    let v = VersionFacts::of(cfg)?;
    check_extra_args("etcd.local.extraArgs", &local.extra_args)?;
    let adv = staticpod::advertise_ip(cfg)?;
    let paths = Paths::from_config(cfg);
    let defaults = match members {
        Some(m) => joining_etcd_args(cfg, m)?,
        None => default_etcd_args(cfg)?,
    };
    let args = merge_args(&defaults, &local.extra_args);
    let data_dir = paths.etcd_data_dir.display().to_string();
    let certs_dir = format!(
        "{}/etcd",
        paths.pki_dir.display().to_string().trim_end_matches('/')
    );
    if !Path::new(&data_dir).is_absolute() {
        return Err(ManifestError::invalid(
            "etcd.local.dataDir",
            &data_dir,
            "must be an absolute path",
        ));
    }

    let (probe_host, probe_port, scheme) = etcd_probe_endpoint(cfg, adv.is_ipv6());
    let port: IntOrString = v.probe_port(i32::from(probe_port));
    // kubeadm keeps the metrics URL's host as it is, 0.0.0.0 included
    // (GetEtcdProbeEndpoint in cmd/kubeadm/app/util/staticpod/utils.go).
    let host = Some(probe_host);

    // kubeadm env for etcd: only extraEnvs (no proxy variables).
    let env = merge_env(&[&local.extra_envs]);
    let mut c = base_container(
        Component::Etcd.name(),
        etcd_image(cfg)?,
        staticpod::command("etcd", &args),
        env,
    );
    // Mounts in kubeadm's literal order (data first), not sorted.
    c.volume_mounts = Some(vec![
        volume_mount("etcd-data", &data_dir, false),
        volume_mount("etcd-certs", &certs_dir, false),
    ]);
    c.resources = Some(resources("100m", Some("100Mi")));
    c.liveness_probe = Some(liveness_probe(host.clone(), "/livez", port.clone(), scheme));
    c.readiness_probe = Some(readiness_probe(
        host.clone(),
        "/readyz",
        port.clone(),
        scheme,
    ));
    c.startup_probe = Some(startup_probe(host, "/readyz", port, scheme, cfg));
    c.ports = v.container_ports(i32::from(probe_port));

    let volumes = vec![
        staticpod::host_path_volume("etcd-certs", &certs_dir, "DirectoryOrCreate"),
        staticpod::host_path_volume("etcd-data", &data_dir, "DirectoryOrCreate"),
    ];
    let mut annotations = BTreeMap::new();
    annotations.insert(
        ADVERTISE_CLIENT_URLS_ANNOTATION.to_string(),
        url("https", &adv.to_string(), ETCD_CLIENT_PORT),
    );
    Ok(component_pod(c, volumes, annotations))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_36_detection() {
        assert!(etcd_is_36_or_newer("3.6.4-0"));
        assert!(etcd_is_36_or_newer("v3.7.0"));
        assert!(!etcd_is_36_or_newer("3.5.21-0"));
        assert!(!etcd_is_36_or_newer("latest"));
    }

    #[test]
    fn probe_endpoint_from_metrics_url() {
        let mut cfg = crate::config::defaults::example_init_config("v1.36.3");
        assert_eq!(
            etcd_probe_endpoint(&cfg, false),
            ("127.0.0.1".to_string(), 2381, "HTTP")
        );
        cfg.cluster.etcd.local.as_mut().unwrap().extra_args = vec![arg(
            "listen-metrics-urls",
            "https://[::1]:12381,http://127.0.0.1:2381",
        )];
        assert_eq!(
            etcd_probe_endpoint(&cfg, false),
            ("::1".to_string(), 12381, "HTTPS")
        );
        cfg.cluster.etcd.local.as_mut().unwrap().extra_args =
            vec![arg("listen-metrics-urls", "http://10.0.0.1")];
        assert_eq!(
            etcd_probe_endpoint(&cfg, true),
            ("10.0.0.1".to_string(), 2381, "HTTP")
        );
    }
}
