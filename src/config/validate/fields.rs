//! Single fields: node name, bootstrap tokens, the certificate key, CRI socket, key
//! algorithm, images, versions, feature gates, paths, ignored preflight errors and flags.

use super::*;

/// The most characters a node name may have: the kubelet labels its Node
/// `kubernetes.io/hostname=<node name>`, and a label value has at most 63 characters.
pub const NODE_NAME_MAX: usize = 63;

/// Node name: required, lower-case RFC 1123 subdomain (underscores and upper case refused), at
/// most [`NODE_NAME_MAX`] characters. kubeadm checks the subdomain only; a longer name passes
/// its validation and the node then cannot register (its hostname label would be invalid).
/// Errors say which limit a name breaks.
pub fn validate_node_name(s: &str) -> Result<(), String> {
    crate::config::validate_values::refuse_unexpanded(s)?;
    if s.is_empty() {
        return Err("is required".into());
    }
    let chars_ok = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if chars_ok && s.len() > NODE_NAME_MAX {
        return Err(format!(
            "is {} characters long, more than {NODE_NAME_MAX}: the kubelet labels its Node kubernetes.io/hostname with the node name and a label value has at most {NODE_NAME_MAX} characters, so the node could not register; use a shorter name",
            s.len()
        ));
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
    crate::config::validate_values::refuse_unexpanded(s)?;
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
    crate::config::validate_values::check_image_reference(s)?;
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

/// The warning for a `kubernetesVersion` of a carried minor whose patch is newer than the
/// newest kubestrap knows (`v1.37.99`): its images may not exist. `None` otherwise (an
/// unsupported or unparsable version is [`validate_kubernetes_version`]'s error).
pub fn kubernetes_version_warning(s: &str) -> Option<String> {
    let v = KubeVersion::parse(s).ok()?;
    let info = v.info()?;
    (v.patch > info.latest_patch).then(|| {
        format!(
            "is newer than the newest v1.{} patch kubestrap knows (v1.{}.{}): its images may not exist, and kubestrap writes what kubeadm v1.{}.{} writes",
            v.minor, v.minor, info.latest_patch, v.minor, info.latest_patch
        )
    })
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
