//! Flags over file over defaults, with the source of each effective value
//! (`InitConfig.sources`), then validation — what `kubestrap init`, `init phase` and
//! `config export` work from.
//!
//! Unlike kubeadm (which refuses most flags together with `--config`), mixing is allowed:
//! a flag always wins over the file.

use std::collections::BTreeMap;

use super::GoDuration;
use super::defaults;
use super::load::{ConfigErrors, Loaded};
use super::types::*;
use super::validate::{self, FieldError};
use crate::cli::InitFlags;
use crate::host::HostFacts;

/// Field paths whose source the wizard's review screen shows.
pub const TRACKED: &[&str] = &[
    "kubernetesVersion",
    "controlPlaneEndpoint",
    "networking.serviceSubnet",
    "networking.podSubnet",
    "networking.dnsDomain",
    "apiServer.certSANs",
    "imageRepository",
    "certificatesDir",
    "clusterName",
    "encryptionAlgorithm",
    "etcd.local.dataDir",
    "localAPIEndpoint.advertiseAddress",
    "localAPIEndpoint.bindPort",
    "nodeRegistration.name",
    "nodeRegistration.criSocket",
    "nodeRegistration.ignorePreflightErrors",
    "bootstrapTokens[0].token",
    "bootstrapTokens[0].ttl",
    "certificateKey",
    "skipPhases",
];

fn flag_err(path: &str, value: &str, rule: impl Into<String>) -> FieldError {
    FieldError {
        path: path.into(),
        value: value.into(),
        rule: rule.into(),
        line: None,
        warning: false,
    }
}

/// [`load_file`] that returns the unknown fields of component configs beside the documents
/// (see [`super::load::load_documents_and_component_errors`]); the caller reports them.
pub fn load_file_and_component_errors(
    path: &std::path::Path,
) -> Result<(Loaded, Vec<FieldError>), ConfigErrors> {
    let mut component = Vec::new();
    let loaded = load_file_with(path, &mut component)?;
    Ok((loaded, component))
}

/// Reads and loads a configuration file. Errors: unreadable file (named), or the load errors.
pub fn load_file(path: &std::path::Path) -> Result<Loaded, ConfigErrors> {
    let mut component = Vec::new();
    let loaded = load_file_with(path, &mut component)?;
    if component.is_empty() {
        Ok(loaded)
    } else {
        Err(ConfigErrors::new(&path.display().to_string(), component))
    }
}

fn load_file_with(
    path: &std::path::Path,
    component: &mut Vec<FieldError>,
) -> Result<Loaded, ConfigErrors> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors::new(
            &name,
            vec![flag_err("--config", &name, format!("cannot be read: {e}"))],
        )
    })?;
    let (loaded, c) = super::load::load_documents_and_component_errors(&text, &name)?;
    component.extend(c);
    Ok(loaded)
}

/// An init configuration built from a file: the configuration (not yet defaulted), the
/// loader's warnings, and the file line of each field path.
pub type FromFile = (InitConfig, Vec<String>, BTreeMap<String, usize>);

/// Builds an [`InitConfig`] from loaded documents (Join/Reset documents are skipped with a
/// warning). Errors when the file has neither InitConfiguration nor ClusterConfiguration.
pub fn init_from_loaded(loaded: Loaded, source: &str) -> Result<FromFile, ConfigErrors> {
    let mut warnings = loaded.warnings;
    if loaded.init.is_none() && loaded.cluster.is_none() {
        return Err(ConfigErrors::new(
            source,
            vec![flag_err(
                "kind",
                "",
                "init needs an InitConfiguration and/or a ClusterConfiguration document",
            )],
        ));
    }
    for (kind, present) in [
        ("JoinConfiguration", loaded.join.is_some()),
        ("ResetConfiguration", loaded.reset.is_some()),
    ] {
        if present {
            let line = loaded.kind_lines.get(kind).copied().unwrap_or(0);
            warnings.push(format!(
                "line {line}: {kind} is not used by init; the document is skipped"
            ));
        }
    }
    let cfg = InitConfig {
        init: loaded.init.unwrap_or_default(),
        cluster: loaded.cluster.unwrap_or_default(),
        kubelet: loaded.kubelet,
        kube_proxy: loaded.kube_proxy,
        sources: BTreeMap::new(),
    };
    Ok((cfg, warnings, loaded.lines))
}

fn is_set(cfg: &InitConfig, path: &str) -> bool {
    let c = &cfg.cluster;
    let i = &cfg.init;
    match path {
        "kubernetesVersion" => !c.kubernetes_version.is_empty(),
        "controlPlaneEndpoint" => !c.control_plane_endpoint.is_empty(),
        "networking.serviceSubnet" => !c.networking.service_subnet.is_empty(),
        "networking.podSubnet" => !c.networking.pod_subnet.is_empty(),
        "networking.dnsDomain" => !c.networking.dns_domain.is_empty(),
        "apiServer.certSANs" => !c.api_server.cert_sans.is_empty(),
        "imageRepository" => !c.image_repository.is_empty(),
        "certificatesDir" => !c.certificates_dir.is_empty(),
        "clusterName" => !c.cluster_name.is_empty(),
        "encryptionAlgorithm" => !c.encryption_algorithm.is_empty(),
        "etcd.local.dataDir" => c
            .etcd
            .local
            .as_ref()
            .is_some_and(|l| !l.data_dir.is_empty()),
        "localAPIEndpoint.advertiseAddress" => !i.local_api_endpoint.advertise_address.is_empty(),
        "localAPIEndpoint.bindPort" => i.local_api_endpoint.bind_port != 0,
        "nodeRegistration.name" => !i.node_registration.name.is_empty(),
        "nodeRegistration.criSocket" => !i.node_registration.cri_socket.is_empty(),
        "nodeRegistration.ignorePreflightErrors" => {
            !i.node_registration.ignore_preflight_errors.is_empty()
        }
        "bootstrapTokens[0].token" => i
            .bootstrap_tokens
            .first()
            .is_some_and(|t| !t.token.is_empty()),
        "bootstrapTokens[0].ttl" => i.bootstrap_tokens.first().is_some_and(|t| t.ttl.is_some()),
        "certificateKey" => !i.certificate_key.is_empty(),
        "skipPhases" => !i.skip_phases.is_empty(),
        _ => false,
    }
}

/// Applies the command-line flags over `cfg`, marking each in `cfg.sources` as `Flag`.
/// Errors name the flag and value (bad port, bad TTL, `all` mixed with named checks).
pub fn apply_flags(cfg: &mut InitConfig, f: &InitFlags) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mark = |cfg: &mut InitConfig, p: &str| {
        cfg.sources.insert(p.to_string(), Source::Flag);
    };
    if let Some(v) = &f.apiserver_advertise_address {
        cfg.init.local_api_endpoint.advertise_address = v.clone();
        mark(cfg, "localAPIEndpoint.advertiseAddress");
    }
    if let Some(v) = f.apiserver_bind_port {
        cfg.init.local_api_endpoint.bind_port = v;
        mark(cfg, "localAPIEndpoint.bindPort");
        if let Err(e) = validate::validate_bind_port(v) {
            errs.push(flag_err("--apiserver-bind-port", &v.to_string(), e));
        }
    }
    if let Some(v) = &f.control_plane_endpoint {
        cfg.cluster.control_plane_endpoint = v.clone();
        mark(cfg, "controlPlaneEndpoint");
    }
    if let Some(v) = &f.pod_network_cidr {
        cfg.cluster.networking.pod_subnet = v.clone();
        mark(cfg, "networking.podSubnet");
    }
    if let Some(v) = &f.service_cidr {
        cfg.cluster.networking.service_subnet = v.clone();
        mark(cfg, "networking.serviceSubnet");
    }
    if let Some(v) = &f.service_dns_domain {
        cfg.cluster.networking.dns_domain = v.clone();
        mark(cfg, "networking.dnsDomain");
    }
    if !f.apiserver_cert_extra_sans.is_empty() {
        cfg.cluster.api_server.cert_sans = f
            .apiserver_cert_extra_sans
            .iter()
            .map(|s| s.trim().to_lowercase())
            .collect();
        mark(cfg, "apiServer.certSANs");
    }
    if let Some(v) = &f.kubernetes_version {
        cfg.cluster.kubernetes_version = v.clone();
        mark(cfg, "kubernetesVersion");
    }
    if let Some(v) = &f.image_repository {
        cfg.cluster.image_repository = v.clone();
        mark(cfg, "imageRepository");
    }
    if let Some(v) = &f.cri_socket {
        cfg.init.node_registration.cri_socket = v.clone();
        mark(cfg, "nodeRegistration.criSocket");
    }
    if let Some(v) = &f.node_name {
        cfg.init.node_registration.name = v.clone();
        mark(cfg, "nodeRegistration.name");
    }
    if let Some(v) = &f.token {
        if cfg.init.bootstrap_tokens.is_empty() {
            cfg.init.bootstrap_tokens.push(BootstrapToken::default());
        }
        cfg.init.bootstrap_tokens[0].token = v.clone();
        mark(cfg, "bootstrapTokens[0].token");
    }
    if let Some(v) = &f.token_ttl {
        match GoDuration::parse(v) {
            Ok(d) => {
                if cfg.init.bootstrap_tokens.is_empty() {
                    cfg.init.bootstrap_tokens.push(BootstrapToken::default());
                }
                cfg.init.bootstrap_tokens[0].ttl = Some(d);
                cfg.init.bootstrap_tokens[0].expires.clear();
                mark(cfg, "bootstrapTokens[0].ttl");
            }
            Err(e) => errs.push(flag_err(
                "--token-ttl",
                v,
                format!(
                    "is not a duration: {} (expected e.g. 24h0m0s, 2h or 0 for never)",
                    e.reason
                ),
            )),
        }
    }
    if !f.ignore_preflight_errors.is_empty() {
        match validate::merge_ignore_preflight_errors(
            &f.ignore_preflight_errors,
            &cfg.init.node_registration.ignore_preflight_errors,
        ) {
            Ok(v) => cfg.init.node_registration.ignore_preflight_errors = v,
            Err(e) => errs.push(flag_err(
                "--ignore-preflight-errors",
                &f.ignore_preflight_errors.join(","),
                e,
            )),
        }
        mark(cfg, "nodeRegistration.ignorePreflightErrors");
    }
    if !f.skip_phases.is_empty() {
        cfg.init.skip_phases = f.skip_phases.clone();
        mark(cfg, "skipPhases");
    }
    if let Some(v) = &f.certificate_key {
        cfg.init.certificate_key = v.clone();
        mark(cfg, "certificateKey");
    }
    if let Some(v) = &f.cert_dir {
        cfg.cluster.certificates_dir = v.clone();
        mark(cfg, "certificatesDir");
        if let Err(e) = validate::validate_abs_path(v) {
            errs.push(flag_err("--cert-dir", v, e));
        }
    }
    if let Some(v) = &f.feature_gates {
        match parse_feature_gates(v) {
            Ok(gates) => {
                cfg.cluster.feature_gates.extend(gates);
                mark(cfg, "featureGates");
            }
            Err(e) => errs.push(flag_err("--feature-gates", v, e)),
        }
    }
    errs
}

/// Parses kubeadm's `--feature-gates` value (`features.NewFeatureGate`): `Name=bool` pairs
/// separated by commas, empty entries skipped, the value as Go's `strconv.ParseBool` reads it.
/// Whether a name is a gate of the chosen version is the validation's
/// (`validate::validate_feature_gate`), as for the file's `featureGates`. Errors name the entry.
pub fn parse_feature_gates(value: &str) -> Result<BTreeMap<String, bool>, String> {
    let mut out = BTreeMap::new();
    // With one entry the value is the entry: it is not named again.
    let several = value.contains(',');
    for entry in value.split(',').filter(|e| !e.trim().is_empty()) {
        let what = |e: &str| {
            if several {
                format!("entry {e:?} ")
            } else {
                String::new()
            }
        };
        let Some((k, v)) = entry.split_once('=') else {
            return Err(format!(
                "{}has no value; write Name=true or Name=false",
                what(entry.trim())
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        let b = match v {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => {
                return Err(format!(
                    "{}is not true or false: a feature gate is Name=true or Name=false",
                    what(entry.trim())
                ));
            }
        };
        out.insert(k.to_string(), b);
    }
    Ok(out)
}

/// Why the advertise address could not be taken from the machine: where the default route
/// is read from (also under `--root`) and what it must have.
pub const NO_DEFAULT_ROUTE: &str = "could not be detected: no default route with a global unicast address (the routes are read from /proc/net/route and /proc/net/ipv6_route, under --root DIR from DIR/proc/net/route and DIR/proc/net/ipv6_route, and matched against this machine's interfaces)";

/// kubeadm's dynamic defaults from host facts: node name = trimmed lower-cased hostname (an
/// explicit name is trimmed and lower-cased too), advertise address = default-route address
/// when empty or `0.0.0.0`/`::`, CRI socket without scheme gets `unix://` (with a warning),
/// `kubernetesVersion` labels resolved offline and `1.2.3` normalised to `v1.2.3`.
pub fn apply_dynamic_defaults(cfg: &mut InitConfig, facts: &HostFacts, warnings: &mut Vec<String>) {
    let nr = &mut cfg.init.node_registration;
    if nr.name.trim().is_empty() {
        if let Ok(n) = validate::normalize_node_name(&facts.hostname) {
            nr.name = n;
            cfg.sources
                .insert("nodeRegistration.name".into(), Source::Detected);
        }
    } else {
        nr.name = nr.name.trim().to_lowercase();
    }
    if nr.cri_socket.starts_with('/') {
        warnings.push(format!(
            "nodeRegistration.criSocket {:?} has no URL scheme; using unix://{}",
            nr.cri_socket, nr.cri_socket
        ));
        nr.cri_socket = format!("unix://{}", nr.cri_socket);
    }
    let adv = &mut cfg.init.local_api_endpoint.advertise_address;
    if (adv.is_empty() || adv == "0.0.0.0" || adv == "::")
        && let Some(ip) = facts.default_route_addr
    {
        *adv = ip.to_string();
        cfg.sources
            .insert("localAPIEndpoint.advertiseAddress".into(), Source::Detected);
    }
    let v = &mut cfg.cluster.kubernetes_version;
    if !v.is_empty() {
        let n = validate::normalize_kubernetes_version(v);
        if n != *v
            && !v
                .trim_start_matches('v')
                .starts_with(|c: char| c.is_ascii_digit())
        {
            warnings.push(format!("kubernetesVersion {v:?} resolved offline to {n} (the newest matching version kubestrap carries)"));
        }
        *v = n;
    }
}

/// Fills `line` of each error from the file lines, unless a flag set that field.
pub fn attach_lines(
    errs: &mut [FieldError],
    lines: &BTreeMap<String, usize>,
    sources: &BTreeMap<String, Source>,
) {
    for e in errs.iter_mut() {
        if e.line.is_some() || sources.get(&e.path) == Some(&Source::Flag) {
            continue;
        }
        let mut p = e.path.as_str();
        loop {
            if let Some(l) = lines.get(p) {
                e.line = Some(*l);
                break;
            }
            match p.rfind(['.', '[']) {
                Some(i) if i > 0 => p = &p[..i],
                _ => break,
            }
        }
    }
}

/// Reads `flags.config` if set, applies flags over the file over defaults (static defaults
/// of [`defaults`], dynamic defaults from `facts`), records each value's [`Source`], then
/// validates. Returns the configuration and the warnings (deprecations, conversions, skipped
/// documents, subnet overlaps with host networks), or every error found.
pub fn resolve_init(
    flags: &InitFlags,
    facts: &HostFacts,
) -> Result<(InitConfig, Vec<String>), ConfigErrors> {
    let mut api_versions = BTreeMap::new();
    let mut component_errors = Vec::new();
    let (mut cfg, mut warnings, lines, source) = match &flags.config {
        Some(p) => {
            let (loaded, c) = load_file_and_component_errors(p)?;
            component_errors = c;
            api_versions = loaded.api_versions.clone();
            let name = p.display().to_string();
            let (c, w, l) = init_from_loaded(loaded, &name)?;
            (c, w, l, name)
        }
        None => (
            InitConfig::default(),
            Vec::new(),
            BTreeMap::new(),
            String::new(),
        ),
    };
    for p in TRACKED {
        if is_set(&cfg, p) {
            let line = lines.get(*p).copied().unwrap_or(0);
            cfg.sources.insert((*p).to_string(), Source::File { line });
        }
    }
    let mut errs = apply_flags(&mut cfg, flags);
    apply_dynamic_defaults(&mut cfg, facts, &mut warnings);
    let unset: Vec<&str> = TRACKED
        .iter()
        .copied()
        .filter(|p| !is_set(&cfg, p))
        .collect();
    defaults::apply_static_init_defaults(&mut cfg);
    for p in unset {
        if is_set(&cfg, p) {
            cfg.sources.entry(p.to_string()).or_insert(Source::Default);
        }
    }
    if cfg.init.local_api_endpoint.advertise_address.is_empty() {
        errs.push(flag_err(
            "localAPIEndpoint.advertiseAddress",
            "",
            format!("{NO_DEFAULT_ROUTE}; set --apiserver-advertise-address"),
        ));
    }
    let no_addr = cfg.init.local_api_endpoint.advertise_address.is_empty();
    // A flag already reported (same value, same rule) is not reported again under the
    // field it sets.
    let flag_errs: Vec<(String, String)> = errs
        .iter()
        .map(|e| (e.value.clone(), e.rule.clone()))
        .collect();
    errs.extend(
        validate::validate_init(&cfg, facts)
            .into_iter()
            .filter(|e| {
                !(no_addr
                    && e.path == "localAPIEndpoint.advertiseAddress"
                    && e.rule.starts_with("is not a valid IP"))
            })
            .filter(|e| !flag_errs.iter().any(|(v, r)| *v == e.value && *r == e.rule)),
    );
    attach_lines(&mut errs, &lines, &cfg.sources);
    super::arg_paths::name_map_keys(&mut errs, &cfg, &api_versions);
    // The loader's problems of single fields come with the validation's, in one run.
    super::load::merge_problems(&mut errs, component_errors);
    let (warn, errors): (Vec<FieldError>, Vec<FieldError>) =
        errs.into_iter().partition(|e| e.warning);
    warnings.extend(warn.iter().map(|w| w.to_string()));
    if !errors.is_empty() {
        return Err(ConfigErrors::new(&source, errors));
    }
    Ok((cfg, warnings))
}
