//! Validation of kubeadm configurations: every rule of kubeadm's
//! `cmd/kubeadm/app/apis/kubeadm/validation/validation.go` that the reference lists, plus
//! kubestrap's stricter checks (pod/service subnet overlap, advertise address family,
//! component flag names). All problems are collected; none stops the others.
//!
//! Per-field validators return `Result<(), String>` with the rule in words, so the wizard can
//! call them on single fields.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use super::defaults;
use super::flags;
use super::net::{parse_subnets, split_host_port};
use super::token::BootstrapTokenString;
use super::types::*;
use super::versions::{self, KubeVersion};
use crate::host::HostFacts;

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
    /// `path: "value" rule (line N)`. The value is left out when the rule already starts
    /// with it (rules shared with the wizard name the value themselves) and when there is
    /// none to show (YAML syntax errors, whose path is `(yaml)` or `(document)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = format!("{:?}", self.value);
        let no_value = self.value.is_empty() && self.path.starts_with('(');
        if self.value == "<redacted>" {
            // A secret: never printed; the message still has a verb.
            write!(
                f,
                "{}: the value (not shown) is not valid: {}",
                self.path, self.rule
            )?;
        } else if no_value || self.rule.starts_with(&quoted) {
            write!(f, "{}: {}", self.path, self.rule)?;
        } else {
            write!(f, "{}: {quoted} {}", self.path, self.rule)?;
        }
        if let Some(l) = self.line {
            write!(f, " (line {l})")?;
        }
        Ok(())
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

/// An IP address (no prefix length). Mirrors `ValidateIPFromString`.
pub fn validate_ip(s: &str) -> Result<(), String> {
    s.parse::<IpAddr>()
        .map(|_| ())
        .map_err(|_| "is not a valid IP address".to_string())
}

/// The API server advertise address: an IP that is global unicast, private or loopback —
/// not unspecified (`0.0.0.0` means "detect" and must be resolved first), link-local or
/// multicast. Mirrors `ValidateAPIEndpoint` + `ChooseAPIServerBindAddress`.
pub fn validate_advertise_address(s: &str) -> Result<(), String> {
    super::validate_values::refuse_unexpanded(s)?;
    let ip: IpAddr = s.parse().map_err(|_| {
        "is not a valid IP address (expected e.g. 192.168.1.10 or 2001:db8::10)".to_string()
    })?;
    super::validate_values::refuse_loopback(ip)?;
    let bad = match ip {
        IpAddr::V4(v) => {
            v.is_unspecified() || v.is_link_local() || v.is_multicast() || v.is_broadcast()
        }
        IpAddr::V6(v) => {
            v.is_unspecified() || v.is_multicast() || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    if bad {
        return Err("cannot be used as the API server address (unspecified, link-local or multicast); use an address of this host's network".into());
    }
    Ok(())
}

/// A TCP port 1–65535. Mirrors `ValidatePort`.
pub fn validate_bind_port(port: i32) -> Result<(), String> {
    super::validate_values::refuse_reserved_port(port)?;
    if (1..=65535).contains(&port) {
        Ok(())
    } else {
        Err("is not a valid port number (1-65535)".into())
    }
}

/// A subnet list: one CIDR, or two (one IPv4 and one IPv6) comma-separated, each holding at
/// least `min_addresses` addresses. Mirrors `ValidateIPNetFromString`.
pub fn validate_subnets(value: &str, min_addresses: u128) -> Result<Vec<IpNet>, String> {
    super::validate_values::refuse_unexpanded(value)?;
    let nets = parse_subnets(value)?;
    if nets.len() > 2 {
        return Err("expected one CIDR or two (one IPv4 and one IPv6) separated by a comma".into());
    }
    if nets.len() == 2 && nets[0].addr().is_ipv4() == nets[1].addr().is_ipv4() {
        return Err("a dual-stack value needs exactly one IPv4 and one IPv6 CIDR".into());
    }
    for n in &nets {
        let bits = n.max_prefix_len() - n.prefix_len();
        let size = if bits >= 127 {
            u128::MAX
        } else {
            1u128 << bits
        };
        if size < min_addresses {
            return Err(format!(
                "subnet {n} has {size} addresses, fewer than the minimum {min_addresses}"
            ));
        }
    }
    Ok(nets)
}

/// `networking.serviceSubnet`: at least 10 addresses; at most 20 host bits for IPv4 (mask
/// ≥ /12) and mask ≥ /108 for IPv6. Mirrors `ValidateServiceSubnetSize`.
pub fn validate_service_subnet(value: &str) -> Result<(), String> {
    let nets = validate_subnets(value, 10)?;
    for n in nets {
        let (min_mask, fam) = if n.addr().is_ipv4() {
            (12, "IPv4")
        } else {
            (108, "IPv6")
        };
        if n.prefix_len() < min_mask {
            return Err(format!(
                "service subnet {n} is too large: an {fam} service subnet needs a mask of at least /{min_mask}"
            ));
        }
    }
    Ok(())
}

/// Node CIDR mask sizes (IPv4, IPv6) from controller-manager extraArgs
/// `node-cidr-mask-size-ipv4` / `-ipv6` (last one wins), default 24 and 64; the legacy
/// `node-cidr-mask-size` is ignored as kubeadm does. Mirrors `getClusterNodeMask`.
pub fn node_cidr_mask_sizes(args: &[Arg]) -> Result<(u8, u8), String> {
    let get = |name: &str, default: u8, max: u8| -> Result<u8, String> {
        match args.iter().rev().find(|a| a.name == name) {
            Some(a) if !a.value.is_empty() => match a.value.parse::<u8>() {
                Ok(v) if v <= max => Ok(v),
                _ => Err(format!(
                    "controllerManager.extraArgs {name}={:?} is not an integer from 0 to {max}",
                    a.value
                )),
            },
            _ => Ok(default),
        }
    };
    Ok((
        get("node-cidr-mask-size-ipv4", 24, 32)?,
        get("node-cidr-mask-size-ipv6", 64, 128)?,
    ))
}

/// `networking.podSubnet`: dual-stack rules, at least 14 addresses, room for at least one node
/// block of `node_mask` (IPv4, IPv6) and at most 16 bits between the two, and no overlap
/// with `service_subnet` (kubestrap's own rule; kubeadm does not check it).
pub fn validate_pod_subnet(
    value: &str,
    service_subnet: &str,
    node_mask: (u8, u8),
) -> Result<(), String> {
    let nets = validate_subnets(value, 14)?;
    for n in &nets {
        let mask = if n.addr().is_ipv4() {
            node_mask.0
        } else {
            node_mask.1
        };
        if mask < n.prefix_len() {
            return Err(format!(
                "pod subnet {n} is smaller than one node block (/{mask}); use a larger subnet or a larger node-cidr-mask-size"
            ));
        }
        if mask - n.prefix_len() > 16 {
            return Err(format!(
                "pod subnet {n} and node mask /{mask} differ by more than 16 bits; use a smaller subnet or a smaller node mask"
            ));
        }
    }
    check_overlap(value, service_subnet)
}

/// The advertise address `adv` must have the family of the first subnet of
/// `service_subnet` (the kubernetes Service's ClusterIP family); unparsable inputs pass
/// (their own checks report them). Errors name both families.
pub fn validate_advertise_family(adv: &str, service_subnet: &str) -> Result<(), String> {
    let (Ok(ip), Ok(nets)) = (adv.parse::<IpAddr>(), parse_subnets(service_subnet)) else {
        return Ok(());
    };
    match nets.first() {
        Some(first) if ip.is_ipv4() != first.addr().is_ipv4() => Err(format!(
            "is {} but the first service subnet {first} is not; the kubernetes Service would not reach the API server (list the subnet of the advertise address family first)",
            if ip.is_ipv4() { "IPv4" } else { "IPv6" }
        )),
        _ => Ok(()),
    }
}

/// `apiServer.certSANs` as one comma-separated text (the wizard's field, the joined
/// `--apiserver-cert-extra-sans` list): empty text means no SANs; otherwise every entry,
/// trimmed, must pass [`validate_cert_san`] — an empty entry (`foo,,bar`) is refused.
/// Errors name the entry.
pub fn validate_cert_san_list(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Ok(());
    }
    for e in s.split(',').map(str::trim) {
        if e.is_empty() {
            return Err("has an empty entry; remove the extra comma".into());
        }
        validate_cert_san(e).map_err(|m| format!("entry {e:?} {m}"))?;
    }
    Ok(())
}

/// `networking.dnsDomain`: a lower-case RFC 1123 subdomain.
pub fn validate_dns_domain(s: &str) -> Result<(), String> {
    super::validate_values::refuse_unexpanded(s)?;
    if is_dns1123_subdomain(s) {
        Ok(())
    } else {
        Err(SUBDOMAIN_RULE.into())
    }
}

/// Node name: required, lower-case RFC 1123 subdomain (underscores and upper case refused).
pub fn validate_node_name(s: &str) -> Result<(), String> {
    super::validate_values::refuse_unexpanded(s)?;
    if s.is_empty() {
        return Err("is required".into());
    }
    validate_dns_domain(s)
}

/// The node-name defaulting of kubeadm (`GetHostname`/`nodeutil`): trimmed and lower-cased;
/// empty after trimming is an error.
pub fn normalize_node_name(s: &str) -> Result<String, String> {
    let t = s.trim().to_lowercase();
    if t.is_empty() {
        Err("is empty after trimming; set a node name".into())
    } else {
        Ok(t)
    }
}

/// A certificate SAN: an IP, a DNS name, or a DNS name with one leading `*.` wildcard.
pub fn validate_cert_san(s: &str) -> Result<(), String> {
    super::validate_values::refuse_unexpanded(s)?;
    if s.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let name = s.strip_prefix("*.").unwrap_or(s);
    if is_dns1123_subdomain(name) {
        Ok(())
    } else {
        Err(
            "is not an IP address, a DNS name, or a DNS name with a single leading '*.' wildcard"
                .into(),
        )
    }
}

/// `controlPlaneEndpoint`: `host[:port]` where host is an IP or a lower-case DNS name and
/// port 1–65535; IPv6 with a port needs brackets.
pub fn validate_control_plane_endpoint(s: &str) -> Result<(), String> {
    super::validate_values::refuse_unexpanded(s)?;
    let (host, _port) = split_host_port(s)?;
    if host.parse::<IpAddr>().is_ok() || is_dns1123_subdomain(&host) {
        Ok(())
    } else {
        Err(format!(
            "host {host:?} is not an IP address or a lower-case DNS name"
        ))
    }
}

/// A bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}`.
pub fn validate_token(s: &str) -> Result<(), String> {
    BootstrapTokenString::parse(s).map(|_| ())
}

/// Token usages: each `signing` or `authentication`; at least one.
pub fn validate_token_usages(usages: &[String]) -> Result<(), String> {
    if usages.is_empty() {
        return Err("at least one usage is required (signing, authentication)".into());
    }
    let bad: Vec<&str> = usages
        .iter()
        .map(String::as_str)
        .filter(|u| !matches!(*u, "signing" | "authentication"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "invalid usage(s) {}; valid: signing, authentication",
            bad.join(", ")
        ))
    }
}

/// A token group: `system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]`.
pub fn validate_token_group(g: &str) -> Result<(), String> {
    let rule = || "must match system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]".to_string();
    let rest = g.strip_prefix("system:bootstrappers:").ok_or_else(rule)?;
    let ok = !rest.is_empty()
        && rest.len() <= 256
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'-')
        && rest
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok { Ok(()) } else { Err(rule()) }
}

/// Groups need the `authentication` usage; each group must be valid.
pub fn validate_token_groups(groups: &[String], usages: &[String]) -> Result<(), String> {
    for g in groups {
        validate_token_group(g).map_err(|e| format!("group {g:?} {e}"))?;
    }
    if !groups.is_empty() && !usages.iter().any(|u| u == "authentication") {
        return Err("groups require the authentication usage".into());
    }
    Ok(())
}

/// `certificateKey`: 64 hex characters (a 32-byte AES-256 key).
pub fn validate_certificate_key(s: &str) -> Result<(), String> {
    let bytes =
        hex::decode(s).map_err(|_| "is not hex (expected 64 hex characters)".to_string())?;
    if bytes.len() != 32 {
        return Err(format!(
            "is {} bytes, must be 32 (64 hex characters)",
            bytes.len()
        ));
    }
    Ok(())
}

/// `criSocket`: a `unix://` URL with a path.
pub fn validate_cri_socket(s: &str) -> Result<(), String> {
    super::validate_values::refuse_unexpanded(s)?;
    if s.is_empty() {
        return Err("is required".into());
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(
            "must be a URL with the unix scheme, e.g. unix:///var/run/containerd/containerd.sock"
                .into(),
        );
    };
    if scheme != "unix" {
        return Err(format!("scheme {scheme:?} is not supported; use unix://"));
    }
    if !rest.starts_with('/') {
        return Err("must hold an absolute socket path after unix://".into());
    }
    Ok(())
}

/// `encryptionAlgorithm`: RSA-2048, RSA-3072, RSA-4096, ECDSA-P256 or ECDSA-P384.
pub fn validate_encryption_algorithm(s: &str) -> Result<(), String> {
    match s {
        "RSA-2048" | "RSA-3072" | "RSA-4096" | "ECDSA-P256" | "ECDSA-P384" => Ok(()),
        _ => Err("must be one of RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384".into()),
    }
}

/// `imageRepository`: `host[:port][/path...]`, no scheme, no tag, no empty path parts,
/// no spaces; path parts lower-case `[a-z0-9._-]`.
pub fn validate_image_repository(s: &str) -> Result<(), String> {
    super::validate_values::check_image_reference(s)?;
    let bad = || {
        Err("is not a valid image repository (expected e.g. registry.k8s.io or 127.0.0.1:5000/mirror, without scheme or tag)".to_string())
    };
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return bad();
    }
    let mut parts = s.split('/');
    let host = parts.next().unwrap_or_default();
    let (h, port) = match host.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host, None),
    };
    if h.is_empty()
        || !h
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return bad();
    }
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return bad();
    }
    for p in parts {
        if p.is_empty()
            || !p
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return bad();
        }
    }
    Ok(())
}

/// An absolute path.
pub fn validate_abs_path(s: &str) -> Result<(), String> {
    if s.starts_with('/') {
        Ok(())
    } else {
        Err("must be an absolute path".into())
    }
}

/// `imagePullPolicy`: Always, IfNotPresent or Never.
pub fn validate_image_pull_policy(s: &str) -> Result<(), String> {
    match s {
        "Always" | "IfNotPresent" | "Never" => Ok(()),
        _ => Err("must be Always, IfNotPresent or Never".into()),
    }
}

/// `kubernetesVersion`: a semantic version the kubestrap build carries.
pub fn validate_kubernetes_version(s: &str) -> Result<(), String> {
    let v = KubeVersion::parse(s)?;
    if v.info().is_none() {
        return Err(format!(
            "is not supported; kubestrap carries Kubernetes {}",
            versions::supported_range()
        ));
    }
    Ok(())
}

/// Normalises a `kubernetesVersion` value: adds the `v` prefix, resolves the labels `stable`,
/// `stable-1`, `latest` and `stable-1.NN` offline to the newest patch kubestrap carries.
/// Returns the value unchanged when it is not a version or label (validation reports it).
pub fn normalize_kubernetes_version(s: &str) -> String {
    match s {
        "stable" | "stable-1" | "latest" | "latest-1" => return versions::default_version(),
        _ => {}
    }
    for p in ["stable-1.", "latest-1."] {
        if let Some(minor) = s.strip_prefix(p).and_then(|m| m.parse::<u32>().ok())
            && let Some(v) = versions::SUPPORTED.iter().find(|v| v.minor == minor)
        {
            return format!("v1.{}.{}", v.minor, v.latest_patch);
        }
    }
    match KubeVersion::parse(s) {
        Ok(v) => v.to_string(),
        Err(_) => s.to_string(),
    }
}

/// kubeadm's feature gates with the first and last minor whose kubeadm knows them
/// (cmd/kubeadm/app/features/features.go of v1.34.4 to v1.37.2).
pub const FEATURE_GATES: &[(&str, u32, u32)] = &[
    ("ControlPlaneKubeletLocalMode", 34, 35),
    ("NodeLocalCRISocket", 34, 36),
    ("PublicKeysECDSA", 34, 36),
    ("RootlessControlPlane", 34, 99),
    ("WaitForAllControlPlaneComponents", 34, 34),
];

/// A kubeadm feature gate name, as the kubeadm of `minor` knows them. The error names the
/// closest known gate, or the version that dropped it.
pub fn validate_feature_gate(name: &str, minor: u32) -> Result<(), String> {
    let known: Vec<&str> = FEATURE_GATES
        .iter()
        .filter(|(_, from, to)| (*from..=*to).contains(&minor))
        .map(|(n, _, _)| *n)
        .collect();
    if known.contains(&name) {
        return Ok(());
    }
    if let Some((_, _, to)) = FEATURE_GATES.iter().find(|(n, _, _)| *n == name) {
        return Err(format!(
            "is not a valid feature name in Kubernetes v1.{minor}: kubeadm v1.{} removed it (it was last known in v1.{to})",
            to + 1
        ));
    }
    let best = known
        .iter()
        .max_by(|a, b| strsim::jaro_winkler(a, name).total_cmp(&strsim::jaro_winkler(b, name)));
    Err(match best {
        Some(b) if strsim::jaro_winkler(b, name) > 0.8 => {
            format!("unknown feature gate (did you mean {b}?)")
        }
        _ => format!("unknown feature gate; known: {}", known.join(", ")),
    })
}

/// `ignorePreflightErrors`: `all` may not be combined with individual checks.
pub fn validate_ignore_preflight_errors(list: &[String]) -> Result<(), String> {
    let lower: BTreeSet<String> = list.iter().map(|s| s.to_lowercase()).collect();
    if lower.contains("all") && lower.len() > 1 {
        return Err("don't list individual checks together with 'all'".into());
    }
    Ok(())
}

/// Merges `--ignore-preflight-errors` with the config's list as kubeadm does (lower-cased,
/// de-duplicated, sorted) and validates the result.
pub fn merge_ignore_preflight_errors(
    cli: &[String],
    cfg: &[String],
) -> Result<Vec<String>, String> {
    let set: BTreeSet<String> = cli.iter().chain(cfg).map(|s| s.to_lowercase()).collect();
    let v: Vec<String> = set.into_iter().collect();
    validate_ignore_preflight_errors(&v)?;
    Ok(v)
}

/// `unmountFlags` of ResetConfiguration.
pub fn validate_unmount_flag(s: &str) -> Result<(), String> {
    match s {
        "MNT_FORCE" | "MNT_DETACH" | "MNT_EXPIRE" | "UMOUNT_NOFOLLOW" => Ok(()),
        _ => Err(
            "unknown unmount flag; valid: MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW"
                .into(),
        ),
    }
}

/// extraArgs of one component: every entry needs a name; for kube-apiserver,
/// kube-controller-manager, kube-scheduler and etcd the name must be a flag the component
/// knows and the value one its flag parser takes (see [`flags`]).
fn check_extra_args(r: &mut Report, path: &str, component: Option<&str>, args: &[Arg]) {
    for (i, a) in args.iter().enumerate() {
        let p = format!("{path}[{i}].name");
        if a.name.is_empty() {
            r.add(&p, "", "argument has no name", false);
            continue;
        }
        if let Some(c) = component {
            if let Err(e) = flags::check_flag(c, &a.name) {
                r.add(&p, &a.name, e, false);
            } else if let Err(e) = flags::check_flag_value(c, &a.name, &a.value) {
                r.add(&format!("{path}[{i}].value"), &a.value, e, false);
            }
        }
    }
}

fn check_volumes(r: &mut Report, path: &str, vols: &[HostPathMount]) {
    let mut names = BTreeSet::new();
    for (i, v) in vols.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if !is_dns1123_label(&v.name) {
            r.add(
                &format!("{p}.name"),
                &v.name,
                "must be a lower-case RFC 1123 label (a volume name)",
                false,
            );
        } else if !names.insert(v.name.clone()) {
            r.add(
                &format!("{p}.name"),
                &v.name,
                "is used by another volume of this component",
                false,
            );
        }
        r.check(
            &format!("{p}.hostPath"),
            &v.host_path,
            validate_abs_path(&v.host_path),
        );
        r.check(
            &format!("{p}.mountPath"),
            &v.mount_path,
            validate_abs_path(&v.mount_path),
        );
        if !matches!(
            v.path_type.as_str(),
            "" | "DirectoryOrCreate"
                | "Directory"
                | "FileOrCreate"
                | "File"
                | "Socket"
                | "CharDevice"
                | "BlockDevice"
        ) {
            r.add(&format!("{p}.pathType"), &v.path_type, "must be one of DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice", false);
        }
    }
}

fn is_dns1123_label(s: &str) -> bool {
    !s.contains('.') && is_dns1123_subdomain(s) && s.len() <= 63
}

fn check_token(r: &mut Report, path: &str, t: &BootstrapToken) {
    if !t.token.is_empty()
        && let Err(e) = validate_token(&t.token)
    {
        r.add(&format!("{path}.token"), "<redacted>", e, false);
    }
    if t.ttl.is_some() && !t.expires.is_empty() {
        r.add(
            &format!("{path}.ttl"),
            &t.ttl.map(|d| d.to_string()).unwrap_or_default(),
            "ttl and expires are mutually exclusive",
            false,
        );
    }
    if !t.expires.is_empty()
        && time::OffsetDateTime::parse(&t.expires, &time::format_description::well_known::Rfc3339)
            .is_err()
    {
        r.add(
            &format!("{path}.expires"),
            &t.expires,
            "is not an RFC 3339 time such as 2030-01-02T15:04:05Z",
            false,
        );
    }
    r.check(
        &format!("{path}.usages"),
        &t.usages.join(","),
        validate_token_usages(&t.usages),
    );
    r.check(
        &format!("{path}.groups"),
        &t.groups.join(","),
        validate_token_groups(&t.groups, &t.usages),
    );
}

fn check_node_registration(r: &mut Report, n: &NodeRegistrationOptions) {
    r.check(
        "nodeRegistration.name",
        &n.name,
        validate_node_name(&n.name),
    );
    r.check(
        "nodeRegistration.criSocket",
        &n.cri_socket,
        validate_cri_socket(&n.cri_socket),
    );
    if !n.image_pull_policy.is_empty() {
        r.check(
            "nodeRegistration.imagePullPolicy",
            &n.image_pull_policy,
            validate_image_pull_policy(&n.image_pull_policy),
        );
    }
    r.check(
        "nodeRegistration.ignorePreflightErrors",
        &n.ignore_preflight_errors.join(","),
        validate_ignore_preflight_errors(&n.ignore_preflight_errors),
    );
    check_extra_args(
        r,
        "nodeRegistration.kubeletExtraArgs",
        None,
        &n.kubelet_extra_args,
    );
}

fn check_cluster(
    r: &mut Report,
    c: &ClusterConfiguration,
    facts: Option<&HostFacts>,
    advertise: Option<&str>,
) {
    // Networking.
    let svc = &c.networking.service_subnet;
    r.check(
        "networking.serviceSubnet",
        svc,
        validate_service_subnet(svc),
    );
    match node_cidr_mask_sizes(&c.controller_manager.extra_args) {
        Ok(mask) => {
            let allocate = c
                .controller_manager
                .extra_args
                .iter()
                .rev()
                .find(|a| a.name == "allocate-node-cidrs")
                .is_none_or(|a| a.value != "false");
            let pod = &c.networking.pod_subnet;
            if !pod.is_empty() {
                let res = if allocate {
                    validate_pod_subnet(pod, svc, mask)
                } else {
                    validate_subnets(pod, 14).and_then(|_| check_overlap(pod, svc))
                };
                r.check("networking.podSubnet", pod, res);
            }
        }
        Err(e) => r.add("controllerManager.extraArgs", "", e, false),
    }
    for (path, val) in [
        ("networking.serviceSubnet", svc),
        ("networking.podSubnet", &c.networking.pod_subnet),
    ] {
        for n in parse_subnets(val).unwrap_or_default() {
            if let IpNet::V6(v6) = n
                && (v6.network().segments()[0] & 0xffc0) == 0xfec0
            {
                r.add(
                    path,
                    val,
                    format!("{n} is in the deprecated site-local range fec0::/10"),
                    true,
                );
            }
            if let Some(f) = facts {
                for i in &f.interfaces {
                    if let Ok(inet) = IpNet::new(i.addr, i.prefix_len) {
                        let inet = inet.trunc();
                        if inet.contains(&n.network()) || n.contains(&inet.network()) {
                            r.add(path, val, format!("overlaps the network {inet} of interface {}; traffic to those addresses will be misrouted", i.interface), true);
                        }
                    }
                }
            }
        }
    }
    r.check(
        "networking.dnsDomain",
        &c.networking.dns_domain,
        validate_dns_domain(&c.networking.dns_domain),
    );
    if let Some(adv) = advertise
        && let Err(e) = validate_advertise_family(adv, svc)
    {
        r.add("localAPIEndpoint.advertiseAddress", adv, e, false);
    }
    // Version and names.
    r.check(
        "kubernetesVersion",
        &c.kubernetes_version,
        validate_kubernetes_version(&c.kubernetes_version),
    );
    if let Ok(v) = KubeVersion::parse(&c.kubernetes_version)
        && let Some(info) = v.info()
        && v.patch > info.latest_patch
    {
        r.add(
            "kubernetesVersion",
            &c.kubernetes_version,
            format!(
                "is newer than the newest v1.{} patch kubestrap knows (v1.{}.{}): its images may not exist, and kubestrap writes what kubeadm v1.{}.{} writes",
                v.minor, v.minor, info.latest_patch, v.minor, info.latest_patch
            ),
            true,
        );
    }
    if !c.control_plane_endpoint.is_empty() {
        r.check(
            "controlPlaneEndpoint",
            &c.control_plane_endpoint,
            validate_control_plane_endpoint(&c.control_plane_endpoint),
        );
    }
    for (i, s) in c.api_server.cert_sans.iter().enumerate() {
        r.check(&format!("apiServer.certSANs[{i}]"), s, validate_cert_san(s));
    }
    r.check(
        "certificatesDir",
        &c.certificates_dir,
        validate_abs_path(&c.certificates_dir),
    );
    r.check(
        "imageRepository",
        &c.image_repository,
        validate_image_repository(&c.image_repository),
    );
    r.check(
        "encryptionAlgorithm",
        &c.encryption_algorithm,
        validate_encryption_algorithm(&c.encryption_algorithm),
    );
    r.check(
        "clusterName",
        &c.cluster_name,
        if c.cluster_name.is_empty() {
            Err("is required".into())
        } else {
            Ok(())
        },
    );
    for name in c.feature_gates.keys() {
        r.check(
            &format!("featureGates.{name}"),
            name,
            validate_feature_gate(
                name,
                crate::config::versions::minor_of(&c.kubernetes_version),
            ),
        );
    }
    if let Some(d) = c.certificate_validity_period
        && d > defaults::default_cert_validity()
    {
        r.add(
            "certificateValidityPeriod",
            &d.to_string(),
            "is longer than the default 8760h0m0s",
            true,
        );
    }
    if let Some(d) = c.ca_certificate_validity_period
        && d > defaults::default_ca_validity()
    {
        r.add(
            "caCertificateValidityPeriod",
            &d.to_string(),
            "is longer than the default 87600h0m0s",
            true,
        );
    }
    // Components.
    check_extra_args(
        r,
        "apiServer.extraArgs",
        Some("kube-apiserver"),
        &c.api_server.extra_args,
    );
    check_extra_args(
        r,
        "controllerManager.extraArgs",
        Some("kube-controller-manager"),
        &c.controller_manager.extra_args,
    );
    check_extra_args(
        r,
        "scheduler.extraArgs",
        Some("kube-scheduler"),
        &c.scheduler.extra_args,
    );
    check_volumes(r, "apiServer.extraVolumes", &c.api_server.extra_volumes);
    check_volumes(
        r,
        "controllerManager.extraVolumes",
        &c.controller_manager.extra_volumes,
    );
    check_volumes(r, "scheduler.extraVolumes", &c.scheduler.extra_volumes);
    // Etcd.
    match (&c.etcd.local, &c.etcd.external) {
        (Some(_), Some(_)) => r.add(
            "etcd",
            "",
            "local and external are mutually exclusive",
            false,
        ),
        (None, None) => r.add("etcd", "", "either local or external is required", false),
        (Some(l), None) => {
            r.check(
                "etcd.local.dataDir",
                &l.data_dir,
                validate_abs_path(&l.data_dir),
            );
            check_extra_args(r, "etcd.local.extraArgs", Some("etcd"), &l.extra_args);
            for (i, s) in l.server_cert_sans.iter().enumerate() {
                r.check(
                    &format!("etcd.local.serverCertSANs[{i}]"),
                    s,
                    validate_cert_san(s),
                );
            }
            for (i, s) in l.peer_cert_sans.iter().enumerate() {
                r.check(
                    &format!("etcd.local.peerCertSANs[{i}]"),
                    s,
                    validate_cert_san(s),
                );
            }
        }
        (None, Some(x)) => check_external_etcd(r, x),
    }
}

/// Errors when any subnet of `pod` overlaps any subnet of `service_subnet`.
pub fn check_overlap(pod: &str, service_subnet: &str) -> Result<(), String> {
    super::validate_values::check_subnet_families(pod, service_subnet)?;
    let (Ok(p), Ok(s)) = (parse_subnets(pod), parse_subnets(service_subnet)) else {
        return Ok(());
    };
    if p.iter().any(|n| {
        s.iter()
            .any(|m| m.contains(&n.network()) || n.contains(&m.network()))
    }) {
        return Err(format!(
            "overlaps networking.serviceSubnet {service_subnet:?}"
        ));
    }
    Ok(())
}

fn check_external_etcd(r: &mut Report, x: &ExternalEtcd) {
    if x.endpoints.is_empty() {
        r.add(
            "etcd.external.endpoints",
            "",
            "at least one endpoint is required",
            false,
        );
    }
    let tls = !x.cert_file.is_empty() || !x.key_file.is_empty();
    if x.cert_file.is_empty() != x.key_file.is_empty() {
        r.add(
            "etcd.external.certFile",
            &x.cert_file,
            "certFile and keyFile must be set together",
            false,
        );
    }
    if tls && x.ca_file.is_empty() {
        r.add(
            "etcd.external.caFile",
            "",
            "is required when certFile and keyFile are set",
            false,
        );
    }
    for (p, f) in [
        ("caFile", &x.ca_file),
        ("certFile", &x.cert_file),
        ("keyFile", &x.key_file),
    ] {
        if !f.is_empty() {
            r.check(&format!("etcd.external.{p}"), f, validate_abs_path(f));
        }
    }
    for (i, e) in x.endpoints.iter().chain(&x.http_endpoints).enumerate() {
        let p = format!("etcd.external.endpoints[{i}]");
        match e.split_once("://") {
            Some(("https", rest)) if !rest.is_empty() => {}
            Some(("http", rest)) if !rest.is_empty() => {
                if tls {
                    r.add(&p, e, "must use https:// when TLS files are set", false);
                }
            }
            _ => r.add(&p, e, "is not a URL with http:// or https:// scheme", false),
        }
    }
}

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
    r.errs.extend(super::validate_values::check_init(cfg));
    super::validate_values::prefer_variable_hint(&mut r.errs);
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
        r.check(
            "controlPlane.localAPIEndpoint.advertiseAddress",
            adv,
            validate_advertise_address(adv),
        );
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
