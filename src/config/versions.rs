//! The Kubernetes versions kubestrap carries, with the component versions kubeadm pins for
//! each minor (`cmd/kubeadm/app/constants/constants.go`). No network lookup is ever made.

/// Component versions for one supported Kubernetes minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionInfo {
    /// Minor version, e.g. 34 for v1.34.
    pub minor: u32,
    /// Newest patch release kubestrap knows, used as the default `kubernetesVersion`.
    pub latest_patch: u32,
    /// etcd image tag (`3.5.21-0`).
    pub etcd: &'static str,
    /// CoreDNS image tag (`v1.12.0`).
    pub coredns: &'static str,
    /// pause image tag (`3.10`).
    pub pause: &'static str,
}

/// Supported minors, oldest first. Each row is what that minor's own kubeadm pins for it
/// (`SupportedEtcdVersion`, `CoreDNSVersion`, `PauseVersion` in
/// cmd/kubeadm/app/constants/constants.go of v1.34.4, v1.35.4, v1.36.3 and v1.37.2).
pub const SUPPORTED: &[VersionInfo] = &[
    VersionInfo {
        minor: 34,
        latest_patch: 4,
        etcd: "3.6.5-0",
        coredns: "v1.12.1",
        pause: "3.10.1",
    },
    VersionInfo {
        minor: 35,
        latest_patch: 4,
        etcd: "3.6.6-0",
        coredns: "v1.13.1",
        pause: "3.10.1",
    },
    VersionInfo {
        minor: 36,
        latest_patch: 3,
        etcd: "3.6.8-0",
        coredns: "v1.14.2",
        pause: "3.10.2",
    },
    VersionInfo {
        minor: 37,
        latest_patch: 2,
        etcd: "3.7.0-0",
        coredns: "v1.14.6",
        pause: "3.10.2",
    },
];

/// A parsed `v1.MINOR.PATCH[-pre][+build]` Kubernetes version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// Everything after the patch number (`-rc.1`, `+abc`), kept verbatim.
    pub suffix: String,
}

impl KubeVersion {
    /// Parses `v1.37.2`, `1.37.2` (normalised to `v1.37.2`), `v1.37.1+abc`.
    /// Errors say what was expected (`v1.18` without a patch is refused, as kubeadm does).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.strip_prefix('v').unwrap_or(s);
        let end = t.find(['-', '+']).unwrap_or(t.len());
        let (core, suffix) = t.split_at(end);
        let parts: Vec<&str> = core.split('.').collect();
        let num = |p: &str| {
            p.parse::<u32>()
                .map_err(|_| format!("{s:?} is not a semantic version such as v1.37.2"))
        };
        if parts.len() != 3 {
            return Err(format!(
                "{s:?} is not a semantic version such as v1.37.2 (major.minor.patch)"
            ));
        }
        Ok(KubeVersion {
            major: num(parts[0])?,
            minor: num(parts[1])?,
            patch: num(parts[2])?,
            suffix: suffix.to_string(),
        })
    }

    /// The image tag for this version: `v1.34.1+abc` → `v1.34.1_abc` (`+` is not allowed in tags).
    pub fn image_tag(&self) -> String {
        self.to_string().replace('+', "_")
    }

    /// The carried component versions, or `None` when this minor is not supported.
    pub fn info(&self) -> Option<&'static VersionInfo> {
        if self.major != 1 {
            return None;
        }
        SUPPORTED.iter().find(|v| v.minor == self.minor)
    }
}

impl std::fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "v{}.{}.{}{}",
            self.major, self.minor, self.patch, self.suffix
        )
    }
}

/// The minor of a `kubernetesVersion` value (`v1.36.3` → 36); the newest carried minor when
/// the value does not parse (validation reports such values separately).
pub fn minor_of(version: &str) -> u32 {
    KubeVersion::parse(version)
        .map(|v| v.minor)
        .unwrap_or_else(|_| SUPPORTED.last().map(|v| v.minor).unwrap_or(37))
}

/// The default `kubernetesVersion`: the newest version kubestrap carries.
pub fn default_version() -> String {
    let v = SUPPORTED.last().expect("at least one supported version");
    format!("v1.{}.{}", v.minor, v.latest_patch)
}

/// Every carried version at its newest known patch, oldest first: `v1.34.4, v1.35.4, ...`.
pub fn carried_list() -> String {
    SUPPORTED
        .iter()
        .map(|v| format!("v1.{}.{}", v.minor, v.latest_patch))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Human-readable supported range, e.g. `v1.34 to v1.37`.
pub fn supported_range() -> String {
    let first = SUPPORTED.first().map(|v| v.minor).unwrap_or(0);
    let last = SUPPORTED.last().map(|v| v.minor).unwrap_or(0);
    format!("v1.{first} to v1.{last}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_tags() {
        assert_eq!(KubeVersion::parse("1.2.3").unwrap().to_string(), "v1.2.3");
        assert!(KubeVersion::parse("v1.18").is_err());
        assert!(KubeVersion::parse("foo").is_err());
        assert_eq!(
            KubeVersion::parse("v1.34.1+abc").unwrap().image_tag(),
            "v1.34.1_abc"
        );
        assert_eq!(
            KubeVersion::parse(&default_version())
                .unwrap()
                .info()
                .unwrap()
                .minor,
            37
        );
    }
}
