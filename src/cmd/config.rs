//! `kubestrap config`: print defaults, validate, migrate and export kubeadm configuration
//! files (kubeadm's `config print init-defaults|join-defaults`, `config validate`,
//! `config migrate`; `config export` is kubestrap's own).

use std::path::{Path, PathBuf};

use crate::cli::{ConfigCommand, ConfigPrint};
use crate::config::export::{
    emit_documents, export_init, export_init_with_warnings, export_join, export_reset,
};
use crate::config::load::{ApiVersion, ConfigErrors, Loaded};
use crate::config::overlay::{self, apply_dynamic_defaults, attach_lines, init_from_loaded};
use crate::config::validate::{self, FieldError};
use crate::config::{defaults, types::*};
use crate::host::{Host, HostFacts, RealHost};

/// The placeholder token kubeadm prints in `config print` output.
pub const PLACEHOLDER_TOKEN: &str = "abcdef.0123456789abcdef";

fn facts(root: &Option<PathBuf>) -> HostFacts {
    let root = root.clone().unwrap_or_else(|| PathBuf::from("/"));
    RealHost::new(root, true)
        .map(|h| h.facts())
        .unwrap_or_default()
}

/// Runs `kubestrap config`; returns the exit code (0 ok, 1 bad file or values).
pub fn run(root: Option<PathBuf>, args: ConfigCommand) -> i32 {
    match args {
        ConfigCommand::Print(ConfigPrint::InitDefaults { component_configs }) => {
            match print_init_defaults(&component_configs) {
                Ok(s) => {
                    print!("{s}");
                    0
                }
                Err(e) => super::fail(e),
            }
        }
        ConfigCommand::Print(ConfigPrint::JoinDefaults) => {
            print!("{}", print_join_defaults(&facts(&root).hostname));
            0
        }
        ConfigCommand::Validate { config } => {
            let (code, out) = validate_file(&config, &facts(&root));
            if code == 0 {
                println!("{out}");
            } else {
                eprintln!("{out}");
            }
            code
        }
        ConfigCommand::Migrate {
            old_config,
            new_config,
        } => match migrate_file(&old_config, &facts(&root)) {
            Ok((text, warnings)) => {
                for w in warnings {
                    eprintln!("warning: {w}");
                }
                write_or_print(new_config.as_deref(), &text, true)
            }
            Err(e) => super::fail(e),
        },
        ConfigCommand::Images(c) => super::images::run(root, c),
        ConfigCommand::Export {
            flags,
            api_version,
            output,
            with_token,
        } => match overlay::resolve_init(&flags, &facts(&root)) {
            Ok((cfg, warnings)) => {
                let (text, more) = export_init_with_warnings(&cfg, api_version.into(), with_token);
                for w in warnings.iter().chain(&more) {
                    eprintln!("warning: {w}");
                }
                write_or_print(output.as_deref(), &text, false)
            }
            Err(e) => super::fail(e),
        },
    }
}

fn write_or_print(path: Option<&Path>, text: &str, overwrite: bool) -> i32 {
    let Some(p) = path else {
        print!("{text}");
        return 0;
    };
    if !overwrite && p.exists() {
        return super::fail(format!(
            "{} exists; refusing to overwrite it (remove it or pick another --output)",
            p.display()
        ));
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match crate::host::fs::write_atomic(&abs, text.as_bytes(), 0o644) {
        Ok(()) => 0,
        Err(e) => super::fail(format!("writing {}: {e}", p.display())),
    }
}

/// The InitConfig `kubeadm config print init-defaults` shows: static defaults with the
/// placeholders kubeadm uses (token `abcdef.0123456789abcdef`, advertise address `1.2.3.4`,
/// node name `node`) and kubestrap's default Kubernetes version.
pub fn init_defaults() -> InitConfig {
    let mut cfg = InitConfig::default();
    cfg.init.node_registration.name = "node".into();
    cfg.init.local_api_endpoint.advertise_address = "1.2.3.4".into();
    cfg.init.bootstrap_tokens.push(BootstrapToken {
        token: PLACEHOLDER_TOKEN.into(),
        ..Default::default()
    });
    defaults::apply_static_init_defaults(&mut cfg);
    cfg
}

/// Default KubeletConfiguration printed by `--component-configs KubeletConfiguration`
/// (the fields kubeadm sets for the kubelet; `clusterDNS` from the default service subnet).
pub fn kubelet_defaults() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": false},
            "webhook": {"cacheTTL": "0s", "enabled": true},
            "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}
        },
        "authorization": {"mode": "Webhook", "webhook": {"cacheAuthorizedTTL": "0s", "cacheUnauthorizedTTL": "0s"}},
        "cgroupDriver": "systemd",
        "clusterDNS": ["10.96.0.10"],
        "clusterDomain": "cluster.local",
        "containerRuntimeEndpoint": "",
        "cpuManagerReconcilePeriod": "0s",
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "logging": {"flushFrequency": 0, "options": {"json": {"infoBufferSize": "0"}, "text": {"infoBufferSize": "0"}}, "verbosity": 0},
        "memorySwap": {},
        "rotateCertificates": true,
        "runtimeRequestTimeout": "0s",
        "shutdownGracePeriod": "0s",
        "shutdownGracePeriodCriticalPods": "0s",
        "staticPodPath": "/etc/kubernetes/manifests",
        "streamingConnectionIdleTimeout": "0s",
        "syncFrequency": "0s",
        "volumeStatsAggPeriod": "0s"
    })
}

/// Default KubeProxyConfiguration printed by `--component-configs KubeProxyConfiguration`.
pub fn kube_proxy_defaults() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "bindAddress": "0.0.0.0",
        "bindAddressHardFail": false,
        "clientConnection": {"acceptContentTypes": "", "burst": 0, "contentType": "", "kubeconfig": "/var/lib/kube-proxy/kubeconfig.conf", "qps": 0},
        "clusterCIDR": "",
        "configSyncPeriod": "0s",
        "conntrack": {"maxPerCore": null, "min": null, "tcpBeLiberal": false, "tcpCloseWaitTimeout": null, "tcpEstablishedTimeout": null, "udpStreamTimeout": "0s", "udpTimeout": "0s"},
        "detectLocalMode": "",
        "enableProfiling": false,
        "healthzBindAddress": "",
        "hostnameOverride": "",
        "iptables": {"localhostNodePorts": null, "masqueradeAll": false, "masqueradeBit": null, "minSyncPeriod": "0s", "syncPeriod": "0s"},
        "ipvs": {"excludeCIDRs": null, "minSyncPeriod": "0s", "scheduler": "", "strictARP": false, "syncPeriod": "0s", "tcpFinTimeout": "0s", "tcpTimeout": "0s", "udpTimeout": "0s"},
        "metricsBindAddress": "",
        "mode": "",
        "nodePortAddresses": null,
        "oomScoreAdj": null,
        "portRange": "",
        "showHiddenMetricsForVersion": "",
        "winkernel": {"enableDSR": false, "forwardHealthCheckVip": false, "networkName": "", "rootHnsEndpointName": "", "sourceVip": ""}
    })
}

/// Text of `config print init-defaults`, with the named component configs appended.
/// Errors name an unknown component config and list the accepted ones.
pub fn print_init_defaults(component_configs: &[String]) -> Result<String, String> {
    let mut text = export_init(&init_defaults(), ApiVersion::V1beta4, true);
    for c in component_configs {
        let doc = match c.trim() {
            "KubeletConfiguration" => kubelet_defaults(),
            "KubeProxyConfiguration" => kube_proxy_defaults(),
            other => {
                return Err(format!(
                    "--component-configs: {other:?} is not a component config; accepted: KubeletConfiguration, KubeProxyConfiguration"
                ));
            }
        };
        text.push_str("---\n");
        text.push_str(&emit_documents(&[doc]));
    }
    Ok(text)
}

/// The JoinConfiguration `config print join-defaults` shows (node name from `hostname`).
pub fn join_defaults(hostname: &str) -> JoinConfiguration {
    let mut j = JoinConfiguration {
        discovery: Discovery {
            bootstrap_token: Some(BootstrapTokenDiscovery {
                token: PLACEHOLDER_TOKEN.into(),
                api_server_endpoint: "kube-apiserver:6443".into(),
                unsafe_skip_ca_verification: true,
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    j.node_registration.name =
        validate::normalize_node_name(hostname).unwrap_or_else(|_| "node".into());
    defaults::apply_static_join_defaults(&mut j);
    j
}

/// Text of `config print join-defaults`.
pub fn print_join_defaults(hostname: &str) -> String {
    export_join(&join_defaults(hostname), ApiVersion::V1beta4, true)
}

/// What [`check_loaded`] returns: the defaulted init configuration, JoinConfiguration,
/// ResetConfiguration (each when present) and the warnings.
pub type Checked = (
    Option<InitConfig>,
    Option<JoinConfiguration>,
    Option<ResetConfiguration>,
    Vec<String>,
);

/// Defaults and validates everything in `loaded` as `config validate` / `config migrate` do.
/// Returns the defaulted documents, the warnings, and the problems (errors and warnings)
/// with file lines.
pub fn check_loaded(
    loaded: Loaded,
    source: &str,
    facts: &HostFacts,
) -> Result<Checked, ConfigErrors> {
    let lines = loaded.lines.clone();
    let mut problems: Vec<FieldError> = Vec::new();
    let mut warnings = Vec::new();
    let join = loaded.join.clone();
    let reset = loaded.reset.clone();
    let mut init_out = None;
    if loaded.init.is_some() || loaded.cluster.is_some() {
        let (mut cfg, w, _) = init_from_loaded(
            Loaded {
                join: None,
                reset: None,
                ..loaded.clone()
            },
            source,
        )?;
        warnings.extend(w);
        apply_dynamic_defaults(&mut cfg, facts, &mut warnings);
        let original = cfg.init.local_api_endpoint.advertise_address.clone();
        let placeholder = original.is_empty() || original == "0.0.0.0" || original == "::";
        if placeholder {
            // Without a default route the address is only known when init runs on the
            // target machine: validate the rest with a stand-in and keep the file's value.
            // (a documentation address: loopback is refused as an advertise address)
            cfg.init.local_api_endpoint.advertise_address = if cfg
                .cluster
                .networking
                .service_subnet
                .split(',')
                .next()
                .is_some_and(|s| s.contains(':'))
            {
                "2001:db8::1".into()
            } else {
                "192.0.2.1".into()
            };
        }
        defaults::apply_static_init_defaults(&mut cfg);
        problems.extend(validate::validate_init(&cfg, facts));
        if placeholder {
            cfg.init.local_api_endpoint.advertise_address = original;
        }
        init_out = Some(cfg);
    } else {
        warnings.extend(loaded.warnings.clone());
    }
    let join_out = join.map(|mut j| {
        if j.node_registration.name.trim().is_empty() {
            j.node_registration.name =
                validate::normalize_node_name(&facts.hostname).unwrap_or_default();
        } else {
            j.node_registration.name = j.node_registration.name.trim().to_lowercase();
        }
        defaults::apply_static_join_defaults(&mut j);
        if let Some(cp) = j.control_plane.as_mut()
            && cp.local_api_endpoint.advertise_address.is_empty()
        {
            cp.local_api_endpoint.advertise_address = facts
                .default_route_addr
                .map(|a| a.to_string())
                .unwrap_or_else(|| "192.0.2.1".into());
        }
        problems.extend(validate::validate_join(&j, facts));
        j
    });
    let reset_out = reset.map(|mut r| {
        defaults::apply_static_reset_defaults(&mut r);
        problems.extend(validate::validate_reset(&r));
        r
    });
    attach_lines(&mut problems, &lines, &Default::default());
    if let Some(c) = &init_out {
        crate::config::arg_paths::name_map_keys(&mut problems, c, &loaded.api_versions);
    }
    let (warn, errors): (Vec<FieldError>, Vec<FieldError>) =
        problems.into_iter().partition(|e| e.warning);
    warnings.extend(warn.iter().map(|w| w.to_string()));
    if !errors.is_empty() {
        let mut all = errors;
        all.extend(warn);
        return Err(ConfigErrors::new(source, all));
    }
    Ok((init_out, join_out, reset_out, warnings))
}

/// `config validate`: (exit code, text). Text is `ok` (after any warnings) or one problem per
/// line with field path, value, rule and line; a file without any kubeadm configuration
/// document (empty, comments only, component configs only) is an error.
pub fn validate_file(path: &Path, facts: &HostFacts) -> (i32, String) {
    let name = path.display().to_string();
    let res = overlay::load_file_and_component_errors(path).and_then(|(l, component)| {
        if l.init.is_none() && l.cluster.is_none() && l.join.is_none() && l.reset.is_none() {
            return Err(ConfigErrors::new(
                &name,
                vec![FieldError {
                    path: "(document)".into(),
                    value: String::new(),
                    rule: "there is no InitConfiguration, ClusterConfiguration or JoinConfiguration document to validate".into(),
                    line: None,
                    warning: false,
                }],
            ));
        }
        // The loader's problems of single fields (unknown fields, YAML 1.1 look-alikes, type
        // errors, component-config fields) are reported with every other problem.
        match check_loaded(l, &name, facts) {
            Ok(_) if !component.is_empty() => Err(ConfigErrors::new(&name, component)),
            Err(mut e) => {
                crate::config::load::merge_problems(&mut e.errors, component);
                Err(e)
            }
            ok => ok,
        }
    });
    match res {
        Ok((_, _, _, warnings)) => {
            let mut out: String = warnings
                .iter()
                .map(|w| format!("{name}: warning: {w}\n"))
                .collect();
            out.push_str("ok");
            (0, out)
        }
        Err(e) => (1, e.to_string()),
    }
}

/// `config migrate`: loads an older (or current) file, defaults and validates it, and returns
/// only its kubeadm documents as v1beta4 (component configs are dropped, as kubeadm does).
pub fn migrate_file(path: &Path, facts: &HostFacts) -> Result<(String, Vec<String>), ConfigErrors> {
    let name = path.display().to_string();
    let loaded = overlay::load_file(path)?;
    let had_components = loaded.kubelet.is_some() || loaded.kube_proxy.is_some();
    let (init, join, reset, mut warnings) = check_loaded(loaded, &name, facts)?;
    // The loader's "deprecated; run config migrate" advice is what this command is doing.
    warnings.retain(|w| !w.contains("config migrate --old-config"));
    if had_components {
        warnings.push("KubeletConfiguration/KubeProxyConfiguration documents are not migrated (kubeadm drops them too)".into());
    }
    let mut parts = Vec::new();
    if let Some(mut i) = init {
        i.kubelet = None;
        i.kube_proxy = None;
        // kubeadm's migrate writes the dynamic default taint of a control-plane node.
        i.init
            .node_registration
            .taints
            .get_or_insert_with(|| vec![crate::config::defaults::control_plane_taint()]);
        parts.push(export_init(&i, ApiVersion::V1beta4, true));
    }
    if let Some(j) = join {
        parts.push(export_join(&j, ApiVersion::V1beta4, true));
    }
    if let Some(r) = reset {
        parts.push(export_reset(&r));
    }
    Ok((parts.join("---\n"), warnings))
}
