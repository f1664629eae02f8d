//! Join command lines: splitting a pasted `kubeadm join ...` / `kubestrap join ...` command
//! (with `\` line continuations, quotes, a leading `sudo`) into its fields, and turning the
//! join flags (or a `--config` file) into a defaulted, checked [`JoinConfiguration`].
//!
//! Mirrors kubeadm's `cmd/kubeadm/app/cmd/join.go` (`newJoinData`): the positional endpoint,
//! `--token` filling both tokens, `--config` mixing rules, then static and dynamic defaults.

use std::path::Path;
use std::time::Duration;

use clap::Parser;

use crate::cli::JoinArgs;
use crate::config::defaults::{DEFAULT_CRI_SOCKET, default_timeouts};
use crate::config::token::BootstrapTokenString;
use crate::config::{
    ApiEndpoint, BootstrapTokenDiscovery, FileDiscovery, GoDuration, JoinConfiguration,
    JoinControlPlane, Timeouts,
};

/// Default `caCertPath` of a JoinConfiguration.
pub const DEFAULT_CA_CERT_PATH: &str = "/etc/kubernetes/pki/ca.crt";

/// A join command line or configuration that cannot be used. The message names the flag or
/// field, the value (never a token secret) and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JoinInputError(pub String);

fn bad(msg: impl Into<String>) -> JoinInputError {
    JoinInputError(msg.into())
}

/// Splits a pasted command into words like a POSIX shell would for the cases init prints:
/// `\`+newline continuations are joined, whitespace separates words, single and double
/// quotes group, a backslash escapes the next character. Errors on an unclosed quote.
pub fn split_words(text: &str) -> Result<Vec<String>, JoinInputError> {
    // CRLF and CR line endings (terminals and Windows editors) read as LF; a backslash at a
    // line's end continues the command.
    let text = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace("\\\n", " ");
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err(bad("the pasted command has an unclosed ' quote")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch) => cur.push(ch),
                            None => return Err(bad("the pasted command has an unclosed \" quote")),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err(bad("the pasted command has an unclosed \" quote")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(ch) = chars.next() {
                    cur.push(ch);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[derive(Debug, Parser)]
#[command(name = "join", no_binary_name = false, disable_help_flag = true)]
struct PastedJoin {
    #[command(flatten)]
    args: JoinArgs,
}

/// Parses a whole pasted join command, as `kubestrap init` / `kubeadm init` /
/// `kubestrap token create --print-join-command` print it: an optional `sudo`, the program
/// (`kubeadm`, `kubestrap` or a path ending in one of them), `join`, then kubeadm's join flags.
///
/// Returns the flags as [`JoinArgs`]. Errors: not a join command, an unclosed quote, or a
/// flag clap does not know / a missing flag value (clap's message, one line).
pub fn parse_pasted(text: &str) -> Result<JoinArgs, JoinInputError> {
    let mut words = split_words(text)?;
    // Drop a shell prompt ("$ ", "# ") and sudo.
    while matches!(words.first().map(String::as_str), Some("$" | "#" | "sudo")) {
        words.remove(0);
    }
    let program = words.first().cloned().unwrap_or_default();
    let base = Path::new(&program)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !(base == "kubeadm" || base == "kubestrap")
        || words.get(1).map(String::as_str) != Some("join")
    {
        return Err(bad(
            "not a join command: expected text such as `kubeadm join 192.168.1.10:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:<hex>`",
        ));
    }
    let argv = words.into_iter().skip(1);
    PastedJoin::try_parse_from(argv)
        .map(|p| p.args)
        .map_err(|e| {
            let s = e.to_string();
            let first = s.lines().next().unwrap_or("").trim_start_matches("error: ");
            bad(format!("the pasted join command does not parse: {first}"))
        })
}

/// Flags that may be combined with `--config` (kubeadm's allow-list, as far as kubestrap has them).
fn flags_mixed_with_config(a: &JoinArgs) -> Vec<&'static str> {
    let mut v = Vec::new();
    let mut chk = |set: bool, name: &'static str| {
        if set {
            v.push(name)
        }
    };
    chk(a.endpoint.is_some(), "ENDPOINT (positional)");
    chk(a.token.is_some(), "--token");
    chk(a.discovery_token.is_some(), "--discovery-token");
    chk(
        !a.discovery_token_ca_cert_hash.is_empty(),
        "--discovery-token-ca-cert-hash",
    );
    chk(
        a.discovery_token_unsafe_skip_ca_verification,
        "--discovery-token-unsafe-skip-ca-verification",
    );
    chk(a.discovery_file.is_some(), "--discovery-file");
    chk(a.tls_bootstrap_token.is_some(), "--tls-bootstrap-token");
    chk(a.cri_socket.is_some(), "--cri-socket");
    chk(a.control_plane, "--control-plane");
    chk(a.certificate_key.is_some(), "--certificate-key");
    chk(
        a.apiserver_advertise_address.is_some(),
        "--apiserver-advertise-address",
    );
    chk(a.apiserver_bind_port.is_some(), "--apiserver-bind-port");
    v
}

/// Reads the JoinConfiguration of a kubeadm config file with the shared loader
/// ([`crate::config::load::load_documents`]: v1beta2/3/4, YAML 1.1 scalars, line numbers,
/// unknown fields). Other documents are ignored. Errors: every problem with file and line,
/// or a file without a JoinConfiguration.
pub fn load_join_configuration(
    text: &str,
    file: &str,
) -> Result<JoinConfiguration, JoinInputError> {
    let loaded = crate::config::load::load_documents(text, file).map_err(|e| bad(e.to_string()))?;
    loaded
        .join
        .ok_or_else(|| bad(format!("{file}: no JoinConfiguration document found")))
}

/// Builds the JoinConfiguration of a `kubestrap join` command line: from `--config` (then only
/// `--node-name`, `--dry-run`, `--ignore-preflight-errors` and `--skip-phases` may be added)
/// or from the flags, then applies defaults ([`apply_join_defaults`]) with `hostname` as the
/// default node name, and checks it ([`validate_join`]).
///
/// Flags given with `--config` win over the file ([`flags_over_file`]), as for init.
/// Errors: an unreadable config file, `--certificate-key` or an `--apiserver-*` flag without
/// a control-plane join, and every rule of [`validate_join`].
pub fn join_config_from_args(
    args: &JoinArgs,
    hostname: &str,
) -> Result<JoinConfiguration, JoinInputError> {
    let mut cfg = if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(format!("cannot read --config {}: {e}", path.display())))?;
        let mut cfg = load_join_configuration(&text, &path.display().to_string())?;
        // As for init, a flag given with --config wins over the file.
        if !flags_mixed_with_config(args).is_empty() {
            flags_over_file(&mut cfg, args)?;
        }
        cfg
    } else {
        from_flags(args)?
    };
    if let Some(n) = &args.node_name {
        cfg.node_registration.name = n.clone();
    }
    if args.dry_run {
        cfg.dry_run = true;
    }
    for e in &args.ignore_preflight_errors {
        if !cfg.node_registration.ignore_preflight_errors.contains(e) {
            cfg.node_registration
                .ignore_preflight_errors
                .push(e.clone());
        }
    }
    for p in &args.skip_phases {
        if !cfg.skip_phases.contains(p) {
            cfg.skip_phases.push(p.clone());
        }
    }
    apply_join_defaults(&mut cfg, hostname);
    validate_join(&cfg)?;
    let facts = crate::host::HostFacts {
        hostname: hostname.to_string(),
        ..Default::default()
    };
    let errors: Vec<String> = crate::config::validate::validate_join(&cfg, &facts)
        .into_iter()
        .filter(|e| !e.warning)
        .map(|e| e.to_string())
        .collect();
    if !errors.is_empty() {
        return Err(bad(errors.join("\n")));
    }
    Ok(cfg)
}

/// Applies the discovery and node flags given with `--config` over the file's
/// JoinConfiguration (a flag wins, as `init --config` with flags): the endpoint, tokens and
/// pins go into `discovery.bootstrapToken` (replacing file discovery when an endpoint is
/// given), `--discovery-file` replaces token discovery, `--cri-socket` the node's socket.
/// `--control-plane`, `--certificate-key` and `--apiserver-*` fill the file's `controlPlane`
/// section. Errors: `--certificate-key` or an `--apiserver-*` flag when neither the flags nor
/// the file ask for a control-plane join.
fn flags_over_file(cfg: &mut JoinConfiguration, a: &JoinArgs) -> Result<(), JoinInputError> {
    if a.control_plane && cfg.control_plane.is_none() {
        cfg.control_plane = Some(JoinControlPlane {
            local_api_endpoint: ApiEndpoint {
                advertise_address: String::new(),
                bind_port: 6443,
            },
            certificate_key: String::new(),
        });
    }
    match cfg.control_plane.as_mut() {
        Some(cp) => {
            if let Some(k) = &a.certificate_key {
                cp.certificate_key = k.clone();
            }
            if let Some(ip) = &a.apiserver_advertise_address {
                cp.local_api_endpoint.advertise_address = ip.clone();
            }
            if let Some(port) = a.apiserver_bind_port {
                cp.local_api_endpoint.bind_port = port;
            }
        }
        None => worker_without_control_plane_flags(a)?,
    }
    if let Some(file) = &a.discovery_file {
        cfg.discovery.file = Some(FileDiscovery {
            kube_config_path: file.clone(),
        });
        cfg.discovery.bootstrap_token = None;
    }
    let token_flags = a.endpoint.is_some()
        || a.discovery_token.is_some()
        || a.token.is_some()
        || !a.discovery_token_ca_cert_hash.is_empty()
        || a.discovery_token_unsafe_skip_ca_verification;
    if token_flags && a.discovery_file.is_none() {
        if a.endpoint.is_some() {
            cfg.discovery.file = None;
        }
        let bt = cfg
            .discovery
            .bootstrap_token
            .get_or_insert_with(BootstrapTokenDiscovery::default);
        if let Some(e) = &a.endpoint {
            bt.api_server_endpoint = e.clone();
        }
        if let Some(t) = a.discovery_token.as_ref().or(a.token.as_ref()) {
            bt.token = t.clone();
        }
        let pins: Vec<String> = a
            .discovery_token_ca_cert_hash
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if !pins.is_empty() {
            bt.ca_cert_hashes = pins;
        }
        if a.discovery_token_unsafe_skip_ca_verification {
            bt.unsafe_skip_ca_verification = true;
        }
    }
    if let Some(t) = a.tls_bootstrap_token.as_ref().or(a.token.as_ref()) {
        cfg.discovery.tls_bootstrap_token = t.clone();
    }
    if let Some(s) = &a.cri_socket {
        cfg.node_registration.cri_socket = s.clone();
    }
    Ok(())
}

/// Refuses `--certificate-key` and the `--apiserver-*` flags on a worker join (no
/// `--control-plane`, no `controlPlane` section in `--config`), naming the flag.
fn worker_without_control_plane_flags(a: &JoinArgs) -> Result<(), JoinInputError> {
    for (set, flag) in [
        (a.certificate_key.is_some(), "--certificate-key"),
        (
            a.apiserver_advertise_address.is_some(),
            "--apiserver-advertise-address",
        ),
        (a.apiserver_bind_port.is_some(), "--apiserver-bind-port"),
    ] {
        if set {
            return Err(bad(format!(
                "{flag} only applies to a control-plane join: add --control-plane (or a controlPlane section to --config), or drop {flag} to join a worker node"
            )));
        }
    }
    Ok(())
}

fn from_flags(a: &JoinArgs) -> Result<JoinConfiguration, JoinInputError> {
    let mut cfg = JoinConfiguration::default();
    if a.control_plane {
        cfg.control_plane = Some(JoinControlPlane {
            local_api_endpoint: ApiEndpoint {
                advertise_address: a.apiserver_advertise_address.clone().unwrap_or_default(),
                bind_port: a.apiserver_bind_port.unwrap_or(6443),
            },
            certificate_key: a.certificate_key.clone().unwrap_or_default(),
        });
    } else {
        worker_without_control_plane_flags(a)?;
    }
    if let Some(file) = &a.discovery_file {
        cfg.discovery.file = Some(FileDiscovery {
            kube_config_path: file.clone(),
        });
    }
    if a.endpoint.is_some() || cfg.discovery.file.is_none() {
        let mut bt = BootstrapTokenDiscovery {
            api_server_endpoint: a.endpoint.clone().unwrap_or_default(),
            token: a.discovery_token.clone().unwrap_or_default(),
            ca_cert_hashes: a
                .discovery_token_ca_cert_hash
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            unsafe_skip_ca_verification: a.discovery_token_unsafe_skip_ca_verification,
        };
        if bt.token.is_empty()
            && let Some(t) = &a.token
        {
            bt.token = t.clone();
        }
        if a.endpoint.is_some() || cfg.discovery.file.is_none() {
            cfg.discovery.bootstrap_token = Some(bt);
        }
    }
    cfg.discovery.tls_bootstrap_token = a
        .tls_bootstrap_token
        .clone()
        .or_else(|| a.token.clone())
        .unwrap_or_default();
    if let Some(s) = &a.cri_socket {
        cfg.node_registration.cri_socket = s.clone();
    }
    Ok(cfg)
}

/// Fills kubeadm's join defaults in place: node name = trimmed lower-case `hostname`,
/// CRI socket (a missing `unix://` is prefixed), `caCertPath`, image pull policy, the
/// v1beta4 timeouts (discovery 5m, tlsBootstrap 5m, kubernetesAPICall 1m, ...).
/// Also lower-cases pins' hex as kubeadm stores it.
pub fn apply_join_defaults(cfg: &mut JoinConfiguration, hostname: &str) {
    let nr = &mut cfg.node_registration;
    if nr.name.is_empty() {
        nr.name = hostname.trim().to_lowercase();
    } else {
        nr.name = nr.name.trim().to_lowercase();
    }
    if nr.cri_socket.is_empty() {
        nr.cri_socket = DEFAULT_CRI_SOCKET.to_string();
    } else if nr.cri_socket.starts_with('/') {
        nr.cri_socket = format!("unix://{}", nr.cri_socket);
    }
    if nr.image_pull_policy.is_empty() {
        nr.image_pull_policy = "IfNotPresent".into();
    }
    nr.image_pull_serial.get_or_insert(true);
    // kubeadm's SetNodeRegistrationDynamicDefaults: a control-plane node gets the
    // control-plane taint unless taints are set (an empty list keeps it untainted).
    if cfg.control_plane.is_some() && nr.taints.is_none() {
        nr.taints = Some(vec![crate::config::defaults::control_plane_taint()]);
    }
    if let Some(cp) = cfg.control_plane.as_mut()
        && cp.local_api_endpoint.bind_port == 0
    {
        cp.local_api_endpoint.bind_port = 6443;
    }
    if cfg.ca_cert_path.is_empty() {
        cfg.ca_cert_path = DEFAULT_CA_CERT_PATH.into();
    }
    if let Some(bt) = cfg.discovery.bootstrap_token.as_mut() {
        if cfg.discovery.tls_bootstrap_token.is_empty() {
            cfg.discovery.tls_bootstrap_token = bt.token.clone();
        }
        for h in &mut bt.ca_cert_hashes {
            *h = h.to_lowercase();
        }
    }
    if let Some(f) = cfg.discovery.file.as_mut()
        && let Some(p) = f.kube_config_path.strip_prefix("file://")
    {
        f.kube_config_path = p.to_string();
    }
    let d = default_timeouts();
    let t = cfg.timeouts.get_or_insert_with(Timeouts::default);
    t.discovery
        .get_or_insert(d.discovery.unwrap_or(GoDuration::from_secs(300)));
    t.tls_bootstrap
        .get_or_insert(d.tls_bootstrap.unwrap_or(GoDuration::from_secs(300)));
    t.kubernetes_api_call
        .get_or_insert(d.kubernetes_api_call.unwrap_or(GoDuration::from_secs(60)));
    t.kubelet_health_check
        .get_or_insert(d.kubelet_health_check.unwrap_or(GoDuration::from_secs(240)));
}

/// kubeadm's join validation (`ValidateDiscovery`, `ValidateNodeRegistrationOptions`,
/// reference §7) plus an early check of the pin format (kubeadm checks it after the first
/// fetch; failing before any network traffic is kinder).
///
/// Errors (first found): both or neither discovery kind; token discovery without endpoint,
/// without port, with a malformed token; no pins without the unsafe flag; a malformed pin
/// (shows `sha256:<64 hex>`); a discovery file that is neither an existing file nor an
/// `https://` URL; a relative caCertPath; an invalid node name; a non-unix CRI socket.
pub fn validate_join(cfg: &JoinConfiguration) -> Result<(), JoinInputError> {
    let d = &cfg.discovery;
    match (&d.bootstrap_token, &d.file) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "discovery: bootstrapToken and file cannot both be set (--discovery-file cannot be combined with an endpoint/--discovery-token)",
            ));
        }
        (None, None) => {
            return Err(bad(
                "discovery: set an API server endpoint with --token (token discovery) or --discovery-file",
            ));
        }
        _ => {}
    }
    if let Some(bt) = &d.bootstrap_token {
        if bt.api_server_endpoint.is_empty() {
            return Err(bad(
                "discovery.bootstrapToken.apiServerEndpoint: not set; give the API server as host:port, e.g. kubestrap join 192.168.1.10:6443 --token ...",
            ));
        }
        match crate::config::net::split_host_port(&bt.api_server_endpoint) {
            Ok((_, Some(_))) => {}
            Ok((_, None)) => {
                return Err(bad(format!(
                    "discovery.bootstrapToken.apiServerEndpoint: {:?} has no port (expected host:port, e.g. {}:6443)",
                    bt.api_server_endpoint, bt.api_server_endpoint
                )));
            }
            Err(e) => {
                return Err(bad(format!(
                    "discovery.bootstrapToken.apiServerEndpoint: {e}"
                )));
            }
        }
        if bt.token.is_empty() {
            return Err(bad(
                "discovery.bootstrapToken.token: not set; pass --token <id>.<secret> (create one on the control plane with kubestrap token create --print-join-command)",
            ));
        }
        BootstrapTokenString::parse(&bt.token)
            .map_err(|e| bad(format!("--token / discovery.bootstrapToken.token: the value (not shown) is not a valid bootstrap token: {e}")))?;
        if bt.ca_cert_hashes.is_empty() && !bt.unsafe_skip_ca_verification {
            return Err(bad(
                "token discovery without --discovery-token-ca-cert-hash is unsafe: pass the CA pin init printed (--discovery-token-ca-cert-hash sha256:<64 hex>), or, accepting the risk, --discovery-token-unsafe-skip-ca-verification",
            ));
        }
        for h in &bt.ca_cert_hashes {
            crate::pki::parse_pin(h)
                .map_err(|e| bad(format!("--discovery-token-ca-cert-hash: {}", pin_error(e))))?;
        }
    }
    if let Some(f) = &d.file {
        let p = &f.kube_config_path;
        if let Some(rest) = p.strip_prefix("https://") {
            if rest.is_empty() || rest.contains(' ') {
                return Err(bad(format!(
                    "discovery.file.kubeConfigPath: {p:?} is not a valid HTTPS URL"
                )));
            }
        } else if p.contains("://") {
            return Err(bad(format!(
                "discovery.file.kubeConfigPath: {p:?}: only https:// URLs or files are supported"
            )));
        } else if !Path::new(p).is_file() {
            return Err(bad(format!(
                "discovery.file.kubeConfigPath: {p:?} is not a file on disk or an https:// URL"
            )));
        }
    }
    if !d.tls_bootstrap_token.is_empty() {
        BootstrapTokenString::parse(&d.tls_bootstrap_token).map_err(|e| {
            bad(format!(
                "--tls-bootstrap-token / discovery.tlsBootstrapToken: {e}"
            ))
        })?;
    }
    if !cfg.ca_cert_path.starts_with('/') || !cfg.ca_cert_path.ends_with(".crt") {
        return Err(bad(format!(
            "caCertPath: {:?} must be an absolute path ending in .crt",
            cfg.ca_cert_path
        )));
    }
    let name = &cfg.node_registration.name;
    if !is_rfc1123_subdomain(name) {
        return Err(bad(format!(
            "nodeRegistration.name: {name:?} is not a valid node name (lower-case RFC 1123 subdomain: a-z, 0-9, '-', '.', starting and ending alphanumeric); set one with --node-name"
        )));
    }
    let cri = &cfg.node_registration.cri_socket;
    if !cri.starts_with("unix:///") {
        return Err(bad(format!(
            "nodeRegistration.criSocket: {cri:?}: the URL scheme must be unix, e.g. unix:///var/run/containerd/containerd.sock"
        )));
    }
    Ok(())
}

/// A pin parse error that always shows the expected format.
pub fn pin_error(e: String) -> String {
    if e.contains("sha256:<64 hex characters>") {
        e
    } else {
        format!(
            "{e}; expected the format \"sha256:<64 hex characters>\", as kubestrap init prints it"
        )
    }
}

/// True for a lower-case RFC 1123 subdomain of at most 253 characters
/// (see [`crate::config::validate::is_dns1123_subdomain`]).
pub fn is_rfc1123_subdomain(s: &str) -> bool {
    crate::config::validate::is_dns1123_subdomain(s)
}

/// The discovery timeout of a defaulted configuration (`timeouts.discovery`, default 5 m).
pub fn discovery_timeout(cfg: &JoinConfiguration) -> Duration {
    cfg.timeouts
        .as_ref()
        .and_then(|t| t.discovery)
        .map(|d| d.as_std())
        .unwrap_or(Duration::from_secs(300))
}

/// The TLS bootstrap timeout (`timeouts.tlsBootstrap`, default 5 m).
pub fn tls_bootstrap_timeout(cfg: &JoinConfiguration) -> Duration {
    cfg.timeouts
        .as_ref()
        .and_then(|t| t.tls_bootstrap)
        .map(|d| d.as_std())
        .unwrap_or(Duration::from_secs(300))
}

/// The API call timeout (`timeouts.kubernetesAPICall`, default 1 m).
pub fn api_call_timeout(cfg: &JoinConfiguration) -> Duration {
    cfg.timeouts
        .as_ref()
        .and_then(|t| t.kubernetes_api_call)
        .map(|d| d.as_std())
        .unwrap_or(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = "sha256:345959acb2c3b2feb87d281961c893f62a314207ef02599f1cc4a5fb255480b3";

    #[test]
    fn pasted_command_with_continuations() {
        let text = format!(
            "sudo kubeadm join 192.168.1.10:6443 --token abcdef.0123456789abcdef \\\n\t--discovery-token-ca-cert-hash {PIN} \\\n   --discovery-token-ca-cert-hash='{}'\n",
            PIN.to_uppercase()
        );
        let a = parse_pasted(&text).unwrap();
        assert_eq!(a.endpoint.as_deref(), Some("192.168.1.10:6443"));
        assert_eq!(a.token.as_deref(), Some("abcdef.0123456789abcdef"));
        assert_eq!(a.discovery_token_ca_cert_hash.len(), 2);
        let cfg = join_config_from_args(&a, "Worker-1").unwrap();
        let bt = cfg.discovery.bootstrap_token.as_ref().unwrap();
        assert_eq!(bt.ca_cert_hashes, vec![PIN.to_string(), PIN.to_string()]);
        assert_eq!(cfg.discovery.tls_bootstrap_token, "abcdef.0123456789abcdef");
        assert_eq!(cfg.node_registration.name, "worker-1");
        assert_eq!(cfg.ca_cert_path, DEFAULT_CA_CERT_PATH);
        assert_eq!(discovery_timeout(&cfg), Duration::from_secs(300));
    }

    /// Issue 12 item 11: the same pasted command with LF, CRLF or CR line endings, `\`
    /// continuations and `sudo` parses alike.
    #[test]
    fn pasted_commands_parse_alike_with_lf_crlf_and_cr_line_endings() {
        let lf = format!(
            "sudo kubestrap join 192.168.1.10:6443 --token abcdef.0123456789abcdef \\\n    --discovery-token-ca-cert-hash {PIN}\n"
        );
        let want = parse_pasted(&lf).unwrap();
        assert_eq!(want.endpoint.as_deref(), Some("192.168.1.10:6443"));
        assert_eq!(want.discovery_token_ca_cert_hash, vec![PIN.to_string()]);
        for eol in ["\r\n", "\r"] {
            let text = lf.replace('\n', eol);
            let got = parse_pasted(&text).unwrap_or_else(|e| panic!("{eol:?}: {e}"));
            assert_eq!(got.endpoint, want.endpoint, "{eol:?}");
            assert_eq!(got.token, want.token, "{eol:?}");
            assert_eq!(
                got.discovery_token_ca_cert_hash, want.discovery_token_ca_cert_hash,
                "{eol:?}"
            );
        }
    }

    #[test]
    fn pasted_command_errors() {
        assert!(parse_pasted("kubectl get nodes").is_err());
        assert!(parse_pasted("kubeadm join 1.2.3.4:6443 --token 'abc").is_err());
        let e = parse_pasted("kubestrap join 1.2.3.4:6443 --frobnicate").unwrap_err();
        assert!(e.0.contains("--frobnicate"), "{e}");
        let a = parse_pasted("/usr/bin/kubestrap join 1.2.3.4:6443 --token abcdef.0123456789abcdef --discovery-token-unsafe-skip-ca-verification").unwrap();
        assert!(a.discovery_token_unsafe_skip_ca_verification);
    }

    #[test]
    fn validation_rules() {
        let args = |s: &str| parse_pasted(s).unwrap();
        let e = join_config_from_args(
            &args("kubeadm join 1.2.3.4:6443 --token abcdef.0123456789abcdef"),
            "n",
        )
        .unwrap_err();
        assert!(e.0.contains("unsafe"), "{e}");
        let e = join_config_from_args(
            &args("kubeadm join 1.2.3.4:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:0011"),
            "n",
        )
        .unwrap_err();
        assert!(e.0.contains("sha256:<64 hex characters>"), "{e}");
        let e = join_config_from_args(
            &args(&format!("kubeadm join 1.2.3.4 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash {PIN}")),
            "n",
        )
        .unwrap_err();
        assert!(e.0.contains("no port"), "{e}");
        let e = join_config_from_args(
            &args(&format!("kubeadm join 1.2.3.4:6443 --token ABCDEF.0123456789abcdef --discovery-token-ca-cert-hash {PIN}")),
            "n",
        )
        .unwrap_err();
        assert!(e.0.contains("[a-z0-9]{6}"), "{e}");
        let e = join_config_from_args(
            &args(&format!("kubeadm join 1.2.3.4:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash {PIN}")),
            "bad_name",
        )
        .unwrap_err();
        assert!(e.0.contains("nodeRegistration.name"), "{e}");
        let e = join_config_from_args(
            &args("kubeadm join --discovery-file http://x/y.conf --token abcdef.0123456789abcdef"),
            "n",
        )
        .unwrap_err();
        assert!(e.0.contains("https"), "{e}");
    }

    #[test]
    fn config_file_v1beta3_and_mixing() {
        let y = format!(
            "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  timeout: 2m0s\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.1:6443\n    token: abcdef.0123456789abcdef\n    caCertHashes: [\"{PIN}\"]\nnodeRegistration:\n  kubeletExtraArgs:\n    v: \"4\"\n"
        );
        let mut c = load_join_configuration(&y, "join.yaml").unwrap();
        apply_join_defaults(&mut c, "host");
        validate_join(&c).unwrap();
        assert_eq!(discovery_timeout(&c), Duration::from_secs(120));
        assert_eq!(c.node_registration.kubelet_extra_args[0].name, "v");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("join.yaml");
        std::fs::write(&f, &y).unwrap();
        // Issue 12 item 12: flags may be mixed with --config, as for init; a flag wins.
        let mut a = parse_pasted(
            "kubeadm join 10.0.0.9:6443 --token zyxwvu.0123456789abcdef --cri-socket unix:///run/crio/crio.sock",
        )
        .unwrap();
        a.config = Some(f);
        let c = join_config_from_args(&a, "n").unwrap();
        let bt = c.discovery.bootstrap_token.as_ref().unwrap();
        assert_eq!(bt.api_server_endpoint, "10.0.0.9:6443");
        assert_eq!(bt.token, "zyxwvu.0123456789abcdef");
        assert_eq!(
            bt.ca_cert_hashes,
            vec![PIN.to_string()],
            "kept from the file"
        );
        assert_eq!(c.discovery.tls_bootstrap_token, "zyxwvu.0123456789abcdef");
        assert_eq!(c.node_registration.cri_socket, "unix:///run/crio/crio.sock");
        assert_eq!(
            discovery_timeout(&c),
            Duration::from_secs(120),
            "kept from the file"
        );
        a.token = None;
        a.endpoint = None;
        a.cri_socket = None;
        let c = join_config_from_args(&a, "n").unwrap();
        assert_eq!(
            c.discovery.bootstrap_token.as_ref().unwrap().token,
            "abcdef.0123456789abcdef"
        );
        // Control-plane flags with --config fill the file's controlPlane section.
        a.control_plane = true;
        a.certificate_key = Some("ab".repeat(32));
        a.apiserver_bind_port = Some(7443);
        let c = join_config_from_args(&a, "n").unwrap();
        let cp = c.control_plane.expect("controlPlane from the flags");
        assert_eq!(cp.certificate_key, "ab".repeat(32));
        assert_eq!(cp.local_api_endpoint.bind_port, 7443);
        // Without --control-plane (and no controlPlane section) the key is refused.
        a.control_plane = false;
        assert!(
            join_config_from_args(&a, "n")
                .unwrap_err()
                .0
                .contains("only applies to a control-plane join")
        );
    }
}
