//! kubeadm's version skew policy for upgrades (`cmd/kubeadm/app/phases/upgrade/policy.go`
//! `EnforceVersionPolicies`), with the carried versions standing in for kubeadm's own
//! version: kubestrap can write the manifests of every carried minor, at its carried patch.

use crate::config::versions::{KubeVersion, SUPPORTED};

/// How many minors the control plane may move up in one upgrade.
pub const MAXIMUM_ALLOWED_MINOR_VERSION_UPGRADE_SKEW: u32 = 1;
/// How many minors the control plane may move down in one go.
pub const MAXIMUM_ALLOWED_MINOR_VERSION_DOWNGRADE_SKEW: u32 = 1;
/// How many minors a kubelet may be behind the control plane.
pub const MAXIMUM_ALLOWED_MINOR_VERSION_KUBELET_SKEW: u32 = 3;

/// Errors of the policy: `mandatory` ones cannot be bypassed; `skippable` ones can with
/// `--force` (kubeadm's `VersionSkewPolicyErrors`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkewErrors {
    pub mandatory: Vec<String>,
    pub skippable: Vec<String>,
}

impl SkewErrors {
    /// True when there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.mandatory.is_empty() && self.skippable.is_empty()
    }
}

/// The carried version of `minor` (`v1.37.2`), if kubestrap carries that minor.
pub fn carried(minor: u32) -> Option<KubeVersion> {
    SUPPORTED
        .iter()
        .find(|v| v.minor == minor)
        .map(|v| KubeVersion {
            major: 1,
            minor: v.minor,
            patch: v.latest_patch,
            suffix: String::new(),
        })
}

/// kubeadm's `EnforceVersionPolicies` for an upgrade of a cluster at `cluster` to `target`,
/// with kubelets at `kubelets` (unparsable or empty ones are skipped):
/// mandatory — the target's minor is not carried, it is more than one minor above the
/// cluster or more than one minor below it; skippable — a patch newer than the carried one,
/// a pre-release, kubelets more than three minors behind the target.
pub fn enforce(cluster: &KubeVersion, target: &KubeVersion, kubelets: &[String]) -> SkewErrors {
    let mut e = SkewErrors::default();
    let first = SUPPORTED.first().map(|v| v.minor).unwrap_or(0);
    let last = SUPPORTED.last().map(|v| v.minor).unwrap_or(0);
    match carried(target.minor).filter(|_| target.major == 1) {
        None => e.mandatory.push(format!(
            "Specified version to upgrade to \"{target}\" is not carried by kubestrap: it can write the control plane of v1.{first} to v1.{last} ({}) only",
            crate::config::versions::carried_list()
        )),
        Some(c) if target.patch > c.patch => e.skippable.push(format!(
            "Specified version to upgrade to \"{target}\" is higher than the carried version \"{c}\". Upgrade kubestrap first using the tool you used to install it"
        )),
        Some(_) => {}
    }
    if target.minor > cluster.minor + MAXIMUM_ALLOWED_MINOR_VERSION_UPGRADE_SKEW {
        let msg = format!(
            "Specified version to upgrade to \"{target}\" is too high; kubeadm can upgrade only {MAXIMUM_ALLOWED_MINOR_VERSION_UPGRADE_SKEW} minor version at a time (the cluster runs {cluster}: upgrade to v1.{} first)",
            cluster.minor + 1
        );
        if target.suffix.starts_with('-') {
            e.skippable.push(msg);
        } else {
            e.mandatory.push(msg);
        }
    }
    if target.minor + MAXIMUM_ALLOWED_MINOR_VERSION_DOWNGRADE_SKEW < cluster.minor {
        e.mandatory.push(format!(
            "Specified version to downgrade to \"{target}\" is too low; kubeadm can downgrade only {MAXIMUM_ALLOWED_MINOR_VERSION_DOWNGRADE_SKEW} minor version at a time"
        ));
    }
    if target.suffix.starts_with('-') {
        e.skippable.push(format!(
            "Specified version to upgrade to \"{target}\" is an unstable version and such upgrades weren't allowed via setting the --allow-*-upgrades flags"
        ));
    }
    let too_old: Vec<String> = kubelets
        .iter()
        .filter_map(|k| KubeVersion::parse(k).ok())
        .filter(|k| k.minor + MAXIMUM_ALLOWED_MINOR_VERSION_KUBELET_SKEW < target.minor)
        .map(|k| k.to_string())
        .collect();
    if !too_old.is_empty() {
        e.skippable.push(format!(
            "There are kubelets in this cluster that are too old that have these versions {too_old:?}"
        ));
    }
    e
}

/// kubeadm's `formatErrorMsg`: one `\t- <error>` line per error.
pub fn format_errors(errs: &[String]) -> String {
    errs.iter().map(|e| format!("\t- {e}\n")).collect()
}

/// The upgrade targets `upgrade plan` offers for a cluster at `cluster`: the carried version
/// of the cluster's minor when its patch is newer, and the carried version of the next minor
/// (the skew policy allows one minor at a time), oldest first.
pub fn targets(cluster: &KubeVersion) -> Vec<KubeVersion> {
    let mut out = Vec::new();
    if let Some(same) = carried(cluster.minor)
        && same.patch > cluster.patch
    {
        out.push(same);
    }
    if let Some(next) = carried(cluster.minor + 1) {
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> KubeVersion {
        KubeVersion::parse(s).unwrap()
    }

    #[test]
    fn one_minor_at_a_time_and_carried_only() {
        assert!(enforce(&v("v1.36.3"), &v("v1.37.2"), &[]).is_empty());
        let e = enforce(&v("v1.35.4"), &v("v1.37.2"), &[]);
        assert_eq!(e.mandatory.len(), 1, "{e:?}");
        assert!(e.mandatory[0].contains("too high"), "{e:?}");
        let e = enforce(&v("v1.37.2"), &v("v1.38.0"), &[]);
        assert!(e.mandatory[0].contains("not carried"), "{e:?}");
        let e = enforce(&v("v1.36.3"), &v("v1.37.9"), &[]);
        assert!(e.mandatory.is_empty() && e.skippable.len() == 1, "{e:?}");
        let e = enforce(&v("v1.36.3"), &v("v1.37.2"), &["v1.33.0".into()]);
        assert!(e.skippable[0].contains("too old"), "{e:?}");
        let e = enforce(&v("v1.37.2"), &v("v1.35.4"), &[]);
        assert!(e.mandatory[0].contains("too low"), "{e:?}");
    }

    #[test]
    fn targets_are_the_same_minors_newer_patch_and_the_next_minor() {
        let t: Vec<String> = targets(&v("v1.36.1"))
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(t, ["v1.36.3", "v1.37.2"]);
        assert!(targets(&v("v1.37.2")).is_empty());
    }
}
