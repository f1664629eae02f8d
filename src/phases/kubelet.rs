//! The `kubelet-start` phase of init (`cmd/kubeadm/app/cmd/phases/init/kubelet.go`,
//! `app/phases/kubelet/{flags,config,kubelet}.go`, `app/componentconfigs/kubelet.go`):
//! stop the kubelet, write `/var/lib/kubelet/kubeadm-flags.env`, `instance-config.yaml`
//! (NodeLocalCRISocket on) and `config.yaml`, then `systemctl daemon-reload` and
//! `systemctl restart kubelet` when systemd is the init system.
//!
//! Beyond kubeadm: when the advertise address is not the host's default-route address, the
//! kubelet gets `--node-ip=<advertise address>`, so a multi-NIC host registers the address
//! the control plane advertises.

use std::net::IpAddr;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::config::versions::{KubeVersion, SUPPORTED};
use crate::engine::{Event, PhaseCtx, PhaseError};
use crate::host::FileWrite;

/// `kubelet-start` has no sub-phases.
pub const SUBPHASES: &[(&str, &str)] = &[];

const PHASE: &str = "kubelet-start";

/// `/var/lib/kubelet/kubeadm-flags.env`
pub const FLAGS_ENV: &str = "/var/lib/kubelet/kubeadm-flags.env";
/// `/var/lib/kubelet/config.yaml`
pub const CONFIG_YAML: &str = "/var/lib/kubelet/config.yaml";
/// `/var/lib/kubelet/instance-config.yaml` (NodeLocalCRISocket)
pub const INSTANCE_CONFIG: &str = "/var/lib/kubelet/instance-config.yaml";

fn minor(ctx: &PhaseCtx) -> u32 {
    KubeVersion::parse(&ctx.cfg.cluster.kubernetes_version)
        .map(|v| v.minor)
        .unwrap_or_else(|_| SUPPORTED.last().map(|v| v.minor).unwrap_or(34))
}

/// True when the `NodeLocalCRISocket` feature gate is on: always from v1.37 (the gate is
/// gone), else the gate's value from `featureGates`, on by default (beta in v1.34 and v1.35,
/// GA in v1.36; cmd/kubeadm/app/phases/kubelet/flags.go).
pub fn node_local_cri_socket(ctx: &PhaseCtx) -> bool {
    minor(ctx) >= 37
        || ctx
            .cfg
            .cluster
            .feature_gates
            .get("NodeLocalCRISocket")
            .copied()
            .unwrap_or(true)
}

fn cri_socket(ctx: &PhaseCtx) -> String {
    crate::config::defaults::cri_endpoint(&ctx.cfg.init.node_registration.cri_socket)
}

/// The `--node-ip` kubestrap sets: the advertise address when it is an IP that differs from
/// the default-route address (`None` otherwise, or when unset).
pub fn node_ip(ctx: &PhaseCtx) -> Option<IpAddr> {
    let adv: IpAddr = ctx
        .cfg
        .init
        .local_api_endpoint
        .advertise_address
        .parse()
        .ok()?;
    if adv.is_unspecified() {
        return None;
    }
    let facts = ctx.host.facts();
    (facts.default_route_addr != Some(adv)).then_some(adv)
}

/// Why kubelet-start sets `--node-ip` ([`node_ip`]): the advertise address differs from the
/// default-route address (named), or no default route was found to compare it with (the
/// route tables are read under the host's root, so an empty `--root` has none).
pub fn node_ip_message(ctx: &PhaseCtx, ip: IpAddr) -> String {
    match ctx.host.facts().default_route_addr {
        Some(route) => format!(
            "The advertise address {ip} is not this host's default-route address ({route}); setting the kubelet's --node-ip={ip}"
        ),
        None => format!(
            "No default route was found in {} or {} to compare the advertise address {ip} with; setting the kubelet's --node-ip={ip}",
            ctx.host.root().join("proc/net/route").display(),
            ctx.host.root().join("proc/net/ipv6_route").display()
        ),
    }
}

/// The kubelet flags of `kubeadm-flags.env` as `(name, value)` in kubeadm's order
/// (`ArgumentsToCommand`): defaults sorted by name (`container-runtime-endpoint` unless
/// NodeLocalCRISocket, `hostname-override` when the node name differs from the hostname,
/// `node-ip`, `pod-infra-container-image` up to v1.34), then
/// `nodeRegistration.kubeletExtraArgs` in the user's order, replacing defaults of the same name.
pub fn kubelet_flags(ctx: &PhaseCtx) -> Vec<(String, String)> {
    let mut flags: Vec<(String, String)> = Vec::new();
    if !node_local_cri_socket(ctx) {
        flags.push(("container-runtime-endpoint".into(), cri_socket(ctx)));
    }
    let hostname = ctx.host.facts().hostname.to_lowercase();
    let name = &ctx.cfg.init.node_registration.name;
    if !name.is_empty() && *name != hostname {
        flags.push(("hostname-override".into(), name.clone()));
    }
    if let Some(ip) = node_ip(ctx) {
        flags.push(("node-ip".into(), ip.to_string()));
    }
    let m = minor(ctx);
    if m <= 34 {
        let repo = if ctx.cfg.cluster.image_repository.is_empty() {
            crate::config::defaults::DEFAULT_IMAGE_REPOSITORY
        } else {
            ctx.cfg.cluster.image_repository.as_str()
        };
        let pause = SUPPORTED
            .iter()
            .find(|v| v.minor == m)
            .or(SUPPORTED.last())
            .map(|v| v.pause)
            .unwrap_or("3.10");
        flags.push((
            "pod-infra-container-image".into(),
            format!("{repo}/pause:{pause}"),
        ));
    }
    let base: Vec<crate::config::Arg> = flags
        .into_iter()
        .map(|(name, value)| crate::config::Arg { name, value })
        .collect();
    crate::phases::staticpod::merge_args(&base, &ctx.cfg.init.node_registration.kubelet_extra_args)
        .into_iter()
        .map(|a| (a.name, a.value))
        .collect()
}

/// The content of `kubeadm-flags.env`: one line `KUBELET_KUBEADM_ARGS="--a=b --c=d"`.
pub fn flags_env(ctx: &PhaseCtx) -> String {
    let args: Vec<String> = kubelet_flags(ctx)
        .into_iter()
        .map(|(n, v)| format!("--{n}={v}"))
        .collect();
    format!("KUBELET_KUBEADM_ARGS=\"{}\"\n", args.join(" "))
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(Value::String(k.into()), v);
    }
    Value::Mapping(m)
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

/// Fills `base` with every key of `defaults` it lacks, recursing into nested mappings
/// (values the user gave win).
fn fill_defaults(base: &mut Value, defaults: &Value) {
    if let (Value::Mapping(b), Value::Mapping(d)) = (base, defaults) {
        for (k, dv) in d {
            match b.get_mut(k) {
                Some(bv) => fill_defaults(bv, dv),
                None => {
                    b.insert(k.clone(), dv.clone());
                }
            }
        }
    }
}

/// Keys of the KubeletConfiguration that are specific to one node and are therefore never
/// uploaded to the `kubelet-config` ConfigMap by default (kubeadm keeps them in the node's
/// own files): `containerRuntimeEndpoint` (instance-config.yaml with NodeLocalCRISocket) and
/// `resolvConf` (systemd-resolved detected on this host).
pub const INSTANCE_SPECIFIC_KEYS: &[&str] = &["containerRuntimeEndpoint", "resolvConf"];

/// The cluster-wide KubeletConfiguration (`kubelet.config.k8s.io/v1beta1`): the user's
/// KubeletConfiguration document when given, with kubeadm's cluster-wide defaults filling the
/// gaps at every depth (values the user gave win): static pod path, cluster DNS = 10th IP of
/// the first service subnet, cluster domain, client CA, webhook authn/authz, healthz
/// 127.0.0.1:10248, certificate rotation, cgroupDriver systemd. This is what upload-config
/// stores in the `kubelet-config` ConfigMap and the base of [`kubelet_config`]; it never
/// adds the [`INSTANCE_SPECIFIC_KEYS`] (a user document that sets them keeps them).
/// Mirrors kubeadm `app/componentconfigs/kubelet.go` (`Default`).
/// Errors when the service subnet cannot give a DNS IP (the message names the field).
pub fn kubelet_cluster_config(ctx: &PhaseCtx) -> Result<Value, PhaseError> {
    let c = &ctx.cfg.cluster;
    let svc = if c.networking.service_subnet.is_empty() {
        crate::config::defaults::DEFAULT_SERVICE_SUBNET
    } else {
        c.networking.service_subnet.as_str()
    };
    let dns_ip = crate::config::net::dns_service_ip(svc).map_err(|e| {
        PhaseError::new(format!(
            "networking.serviceSubnet {svc:?}: cannot compute the cluster DNS address: {e}"
        ))
    })?;
    let domain = if c.networking.dns_domain.is_empty() {
        "cluster.local"
    } else {
        c.networking.dns_domain.as_str()
    };
    let pki = ctx.paths.pki_dir.join("ca.crt");
    let defaults = map(vec![
        ("apiVersion", s("kubelet.config.k8s.io/v1beta1")),
        ("kind", s("KubeletConfiguration")),
        (
            "authentication",
            map(vec![
                ("anonymous", map(vec![("enabled", Value::Bool(false))])),
                (
                    "webhook",
                    map(vec![("cacheTTL", s("0s")), ("enabled", Value::Bool(true))]),
                ),
                (
                    "x509",
                    map(vec![("clientCAFile", s(&pki.to_string_lossy()))]),
                ),
            ]),
        ),
        (
            "authorization",
            map(vec![
                ("mode", s("Webhook")),
                (
                    "webhook",
                    map(vec![
                        ("cacheAuthorizedTTL", s("0s")),
                        ("cacheUnauthorizedTTL", s("0s")),
                    ]),
                ),
            ]),
        ),
        ("cgroupDriver", s("systemd")),
        ("clusterDNS", Value::Sequence(vec![s(&dns_ip.to_string())])),
        ("clusterDomain", s(domain)),
        ("healthzBindAddress", s("127.0.0.1")),
        ("healthzPort", Value::Number(10248.into())),
        ("rotateCertificates", Value::Bool(true)),
        (
            "staticPodPath",
            s(&ctx.paths.manifests_dir.to_string_lossy()),
        ),
    ]);
    let mut cfg = match &ctx.cfg.kubelet {
        Some(user @ Value::Mapping(_)) => user.clone(),
        _ => Value::Mapping(Mapping::new()),
    };
    fill_defaults(&mut cfg, &defaults);
    // The consented SystemVerification fix on a cgroup v1 host (a value the user wrote wins).
    if ctx.state.lock().is_ok_and(|s| s.kubelet_allow_cgroup_v1) {
        fill_defaults(&mut cfg, &map(vec![("failCgroupV1", Value::Bool(false))]));
    }
    Ok(cfg)
}

/// The KubeletConfiguration kubeadm writes to `/var/lib/kubelet/config.yaml`:
/// [`kubelet_cluster_config`] plus this node's instance-specific defaults when the user did
/// not set them: `containerRuntimeEndpoint` (the CRI socket) with NodeLocalCRISocket, and
/// `resolvConf: /run/systemd/resolve/resolv.conf` when `resolved_active`.
/// Errors when the service subnet cannot give a DNS IP.
pub fn kubelet_config(ctx: &PhaseCtx, resolved_active: bool) -> Result<Value, PhaseError> {
    let mut cfg = kubelet_cluster_config(ctx)?;
    let mut local = Vec::new();
    if node_local_cri_socket(ctx) {
        local.push(("containerRuntimeEndpoint", s(&cri_socket(ctx))));
    }
    if resolved_active {
        local.push(("resolvConf", s("/run/systemd/resolve/resolv.conf")));
    }
    fill_defaults(&mut cfg, &map(local));
    Ok(cfg)
}

/// Writes the kubelet's files as one group (synced together), mode 0644, then sends
/// `FileWritten` for each. Errors name the file.
fn write_all(ctx: &PhaseCtx, files: &[(&str, String)]) -> Result<(), PhaseError> {
    let writes: Vec<FileWrite<'_>> = files
        .iter()
        .map(|(path, data)| FileWrite {
            path: Path::new(path),
            data: data.as_bytes(),
            mode: 0o644,
        })
        .collect();
    let result = ctx.host.write_atomic_all(&writes);
    let in_place = result.as_ref().map_or_else(|e| e.written, |()| files.len());
    for (path, _) in &files[..in_place] {
        ctx.events.send(Event::FileWritten {
            path: path.to_string(),
            mode: 0o644,
        });
    }
    result
        .map_err(|e| PhaseError::new(format!("writing {}", files[e.failed].0)).caused_by(e.source))
}

fn systemctl(ctx: &PhaseCtx, args: &[&str]) -> Result<(), PhaseError> {
    let o = ctx.host.run("systemctl", args).map_err(|e| {
        PhaseError::new(format!("running systemctl {}", args.join(" "))).caused_by(e)
    })?;
    if o.success() {
        Ok(())
    } else {
        Err(PhaseError::new(format!(
            "systemctl {} failed (exit status {}): {}",
            args.join(" "),
            o.status.unwrap_or(-1),
            o.stderr.trim()
        )))
    }
}

/// The `kubelet-start` phase. Errors: a file that cannot be written, or systemctl failing to
/// restart the kubelet (with a hint to read the kubelet's journal).
pub fn run(ctx: &PhaseCtx, _sub: &str) -> Result<(), PhaseError> {
    let systemd = ctx.host.has_systemd();
    // Under --root the host refuses to restart this machine's kubelet (host::command_policy).
    let refused = ctx
        .host
        .command_refusal("systemctl", &["restart", "kubelet"]);
    if systemd && refused.is_none() {
        // Stopping is best-effort: the unit may not be running yet.
        let _ = ctx.host.run("systemctl", &["stop", "kubelet"]);
    }
    let dir = &ctx.paths.kubelet_dir;
    if !ctx.host.exists(dir) {
        ctx.host
            .create_dir_all(dir, 0o700)
            .map_err(|e| PhaseError::new(format!("creating {}", dir.display())).caused_by(e))?;
    }
    if let Some(ip) = node_ip(ctx) {
        ctx.events.log(PHASE, node_ip_message(ctx, ip));
    }
    ctx.events.log(
        PHASE,
        format!("Writing kubelet environment file with flags to file \"{FLAGS_ENV}\""),
    );
    let mut files: Vec<(&str, String)> = vec![(FLAGS_ENV, flags_env(ctx))];
    if node_local_cri_socket(ctx) {
        ctx.events.log(
            PHASE,
            format!("Writing kubelet configuration to file \"{INSTANCE_CONFIG}\""),
        );
        let body = format!("containerRuntimeEndpoint: \"{}\"\n", cri_socket(ctx));
        files.push((INSTANCE_CONFIG, body));
    }
    let resolved_active = systemd
        && ctx
            .host
            .run("systemctl", &["is-active", "systemd-resolved"])
            .is_ok_and(|o| o.success());
    let cfg = kubelet_config(ctx, resolved_active)?;
    let yaml = serde_yaml::to_string(&cfg)
        .map_err(|e| PhaseError::new("encoding the KubeletConfiguration").caused_by(e))?;
    ctx.events.log(
        PHASE,
        format!("Writing kubelet configuration to file \"{CONFIG_YAML}\""),
    );
    files.push((CONFIG_YAML, yaml));
    write_all(ctx, &files)?;
    if !systemd {
        ctx.events.warn(
            PHASE,
            "no supported init system detected (systemd is not running); the kubelet was not started. Please ensure the kubelet is reloaded and running manually",
        );
        return Ok(());
    }
    if ctx.dry_run() {
        ctx.events.log(PHASE, "Would start the kubelet");
        return Ok(());
    }
    if let Some(why) = refused {
        ctx.events.warn(
            PHASE,
            format!("the kubelet was not started: {why}; start it yourself inside that root"),
        );
        return Ok(());
    }
    ctx.events.log(PHASE, "Starting the kubelet");
    systemctl(ctx, &["daemon-reload"])?;
    systemctl(ctx, &["restart", "kubelet"])
        .map_err(|e| e.hint("check 'systemctl status kubelet' and 'journalctl -xeu kubelet'"))
}
