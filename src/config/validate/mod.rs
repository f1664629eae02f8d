//! Validation of kubeadm configurations: every rule of kubeadm's
//! `cmd/kubeadm/app/apis/kubeadm/validation/validation.go` that the reference lists, plus
//! kubestrap's stricter checks (pod/service subnet overlap, advertise address family,
//! component flag names). All problems are collected; none stops the others.
//!
//! Per-field validators return `Result<(), String>` with the rule in words, so the wizard can
//! call them on single fields.
//!
//! By topic: [`network`] (addresses, ports, subnets, SANs, DNS domain, endpoint), [`fields`]
//! (node, tokens, keys, images, versions, feature gates, paths and flags) and [`documents`]
//! (the rules that look at a whole document); this file has the error type and the three
//! entry points, [`validate_init`], [`validate_join`] and [`validate_reset`].

use crate::config::defaults;
use crate::config::flags;
use crate::config::net::{parse_subnets, split_host_port};
use crate::config::token::BootstrapTokenString;
use crate::config::types::*;
use crate::config::versions::{self, KubeVersion};
use crate::host::HostFacts;
use ipnet::IpNet;
use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

mod documents;
mod extra_args;
mod fields;
mod network;

pub use documents::*;
pub use extra_args::*;
pub use fields::*;
pub use network::*;

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field path, e.g. `networking.podSubnet` or `bootstrapTokens[0].token`.
    pub path: String,
    /// The offending value as written (secrets are never put here).
    pub value: String,
    /// The rule in words, e.g. `overlaps networking.serviceSubnet "10.96.0.0/12"`.
    pub rule: String,
    /// 1-based line in the file, when the value came from one.
    pub line: Option<usize>,
    /// True for a warning (does not stop the command).
    pub warning: bool,
}

impl fmt::Display for FieldError {
    /// `path: "value" rule (line N)`, the value and the rule joined by [`value_and_rule`] (so
    /// the value is printed once). The value is left out when there is none to show (YAML
    /// syntax errors, whose path is `(yaml)` or `(document)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let no_value = self.value.is_empty() && self.path.starts_with('(');
        if self.value == "<redacted>" {
            // A secret: never printed; the message still has a verb.
            write!(
                f,
                "{}: the value (not shown) is not valid: {}",
                self.path, self.rule
            )?;
        } else if no_value {
            write!(f, "{}: {}", self.path, self.rule)?;
        } else {
            write!(
                f,
                "{}: {}",
                self.path,
                value_and_rule(&self.value, &self.rule)
            )?;
        }
        if let Some(l) = self.line {
            write!(f, " (line {l})")?;
        }
        Ok(())
    }
}

/// Words a rule starts with when it names a part of the value (`host "x" is not …`).
const PART_WORDS: &[&str] = &[
    "host",
    "port",
    "entry",
    "group",
    "registry",
    "path",
    "subnet",
    "component",
];

/// Joins an offending value and the rule it breaks, printing the value once: the rule alone
/// when it already starts with the quoted value (rules shared by several callers name it
/// themselves: `"v1.36" is not a semantic version …`), `"value": host "x" is not …` when the
/// rule names a part of the value (a quoted part, or a part word such as `host` or `entry`),
/// else `"value" is not …`. Every message naming a field — the wizard's fields and warnings,
/// the flags, the file loader — is its subject followed by this text.
pub fn value_and_rule(value: &str, rule: &str) -> String {
    let quoted = format!("{value:?}");
    let trimmed = format!("{:?}", value.trim());
    for q in [&quoted, &trimmed] {
        if let Some(rest) = rule.strip_prefix(q.as_str())
            && (rest.is_empty() || rest.starts_with([' ', ':', ',', ';']))
        {
            return format!("{quoted}{rest}");
        }
    }
    let first = rule.split([' ', ':', ',']).next().unwrap_or_default();
    if rule.starts_with('"') || PART_WORDS.contains(&first) {
        format!("{quoted}: {rule}")
    } else {
        format!("{quoted} {rule}")
    }
}

/// Collects problems during one validation run.
#[derive(Debug, Default)]
struct Report {
    errs: Vec<FieldError>,
}

impl Report {
    fn check(&mut self, path: &str, value: &str, r: Result<(), String>) {
        if let Err(rule) = r {
            self.add(path, value, rule, false);
        }
    }
    fn add(&mut self, path: &str, value: &str, rule: impl Into<String>, warning: bool) {
        self.errs.push(FieldError {
            path: path.to_string(),
            value: value.to_string(),
            rule: rule.into(),
            line: None,
            warning,
        });
    }
}

/// True when `s` is a lower-case RFC 1123 subdomain (labels of `[a-z0-9-]`, starting and
/// ending alphanumeric, at most 63 characters each, 253 in all).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

const SUBDOMAIN_RULE: &str = "must be a lower-case RFC 1123 subdomain (letters a-z, digits, '-' and '.', starting and ending with a letter or digit)";

/// Validates a fully defaulted init configuration (InitConfiguration + ClusterConfiguration).
/// `facts` adds the warnings about subnets overlapping host networks. Returns every problem.
pub fn validate_init(cfg: &InitConfig, facts: &HostFacts) -> Vec<FieldError> {
    let mut r = Report::default();
    let i = &cfg.init;
    for (n, t) in i.bootstrap_tokens.iter().enumerate() {
        check_token(&mut r, &format!("bootstrapTokens[{n}]"), t);
    }
    check_node_registration(&mut r, &i.node_registration);
    let adv = &i.local_api_endpoint.advertise_address;
    r.check(
        "localAPIEndpoint.advertiseAddress",
        adv,
        validate_advertise_address(adv),
    );
    r.check(
        "localAPIEndpoint.bindPort",
        &i.local_api_endpoint.bind_port.to_string(),
        validate_bind_port(i.local_api_endpoint.bind_port),
    );
    if !i.certificate_key.is_empty() {
        r.check(
            "certificateKey",
            "<redacted>",
            validate_certificate_key(&i.certificate_key),
        );
    }
    check_cluster(&mut r, &cfg.cluster, Some(facts), Some(adv));
    // A warning here; a real run refuses it (`advertise_on_host_problem` with `real_run`).
    if validate_advertise_address(adv).is_ok() {
        r.errs.extend(advertise_on_host_problem(cfg, facts, false));
    }
    r.errs.extend(derived_override_problems(cfg));
    r.errs
        .extend(crate::config::validate_values::check_init(cfg));
    crate::config::validate_values::prefer_variable_hint(&mut r.errs);
    r.errs
}

/// Validates a defaulted JoinConfiguration (discovery, node registration, control plane).
pub fn validate_join(cfg: &JoinConfiguration, facts: &HostFacts) -> Vec<FieldError> {
    let _ = facts;
    let mut r = Report::default();
    check_node_registration(&mut r, &cfg.node_registration);
    let p = &cfg.ca_cert_path;
    if !p.starts_with('/') || !p.ends_with(".crt") {
        r.add(
            "caCertPath",
            p,
            "must be an absolute path ending in .crt",
            false,
        );
    }
    let d = &cfg.discovery;
    match (&d.bootstrap_token, &d.file) {
        (Some(_), Some(_)) => r.add(
            "discovery",
            "",
            "bootstrapToken and file are mutually exclusive",
            false,
        ),
        (None, None) => r.add(
            "discovery",
            "",
            "one of bootstrapToken or file must be set",
            false,
        ),
        (Some(bt), None) => {
            if let Err(e) = validate_token(&bt.token) {
                r.add("discovery.bootstrapToken.token", "<redacted>", e, false);
            }
            if bt.api_server_endpoint.is_empty() {
                r.add(
                    "discovery.bootstrapToken.apiServerEndpoint",
                    "",
                    "is required",
                    false,
                );
            } else {
                match split_host_port(&bt.api_server_endpoint) {
                    Ok((_, Some(_))) => {}
                    Ok((_, None)) => r.add(
                        "discovery.bootstrapToken.apiServerEndpoint",
                        &bt.api_server_endpoint,
                        "is missing a port (host:port)",
                        false,
                    ),
                    Err(e) => r.add(
                        "discovery.bootstrapToken.apiServerEndpoint",
                        &bt.api_server_endpoint,
                        e,
                        false,
                    ),
                }
            }
            if bt.ca_cert_hashes.is_empty() && !bt.unsafe_skip_ca_verification {
                r.add(
                    "discovery.bootstrapToken.caCertHashes",
                    "",
                    "token discovery without caCertHashes is unsafe; pin the CA or set unsafeSkipCAVerification",
                    false,
                );
            }
        }
        (None, Some(f)) => {
            let k = &f.kube_config_path;
            if let Some(rest) = k.strip_prefix("https://") {
                if rest.is_empty() || rest.contains(char::is_whitespace) {
                    r.add(
                        "discovery.file.kubeConfigPath",
                        k,
                        "is not a valid HTTPS URL",
                        false,
                    );
                }
            } else if k.contains("://") {
                r.add(
                    "discovery.file.kubeConfigPath",
                    k,
                    "URL scheme must be https",
                    false,
                );
            } else if !std::path::Path::new(k).is_file() {
                r.add(
                    "discovery.file.kubeConfigPath",
                    k,
                    "is not a valid HTTPS URL or a file on disk",
                    false,
                );
            }
        }
    }
    if !d.tls_bootstrap_token.is_empty()
        && let Err(e) = validate_token(&d.tls_bootstrap_token)
    {
        r.add("discovery.tlsBootstrapToken", "<redacted>", e, false);
    }
    if let Some(cp) = &cfg.control_plane {
        let adv = &cp.local_api_endpoint.advertise_address;
        // Empty: the default-route address is taken at run time (kubeadm's dynamic default).
        if !adv.is_empty() {
            r.check(
                "controlPlane.localAPIEndpoint.advertiseAddress",
                adv,
                validate_advertise_address(adv),
            );
        }
        r.check(
            "controlPlane.localAPIEndpoint.bindPort",
            &cp.local_api_endpoint.bind_port.to_string(),
            validate_bind_port(cp.local_api_endpoint.bind_port),
        );
        if !cp.certificate_key.is_empty() {
            r.check(
                "controlPlane.certificateKey",
                "<redacted>",
                validate_certificate_key(&cp.certificate_key),
            );
        }
    }
    r.errs
}

/// Validates a ResetConfiguration.
pub fn validate_reset(cfg: &ResetConfiguration) -> Vec<FieldError> {
    let mut r = Report::default();
    if !cfg.certificates_dir.is_empty() {
        r.check(
            "certificatesDir",
            &cfg.certificates_dir,
            validate_abs_path(&cfg.certificates_dir),
        );
    }
    if !cfg.cri_socket.is_empty() {
        r.check(
            "criSocket",
            &cfg.cri_socket,
            validate_cri_socket(&cfg.cri_socket),
        );
    }
    for (i, f) in cfg.unmount_flags.iter().enumerate() {
        r.check(&format!("unmountFlags[{i}]"), f, validate_unmount_flag(f));
    }
    r.check(
        "ignorePreflightErrors",
        &cfg.ignore_preflight_errors.join(","),
        validate_ignore_preflight_errors(&cfg.ignore_preflight_errors),
    );
    r.errs
}
