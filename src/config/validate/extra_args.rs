//! One extraArgs entry of a control-plane component, the rule shared by the file loader
//! (`check_extra_args`), `--non-interactive` flags and the wizard's extra-arguments editor:
//! the name must be a flag the component knows, and the value one the component's own flag
//! parser takes (by the flag's type, see [`flags::check_flag_value`]; `feature-gates` against
//! the component's gates and admission plugin names against kube-apiserver's, see
//! [`crate::config::gates`]).

use super::*;

/// Checks the name of one extraArgs entry of `component` (`kube-apiserver`,
/// `kube-controller-manager`, `kube-scheduler`, `etcd`; other components pass). `Err` is the
/// rule in words with the closest known flag (mirrors nothing in kubeadm, which passes any
/// name through and lets the component exit at start).
pub fn validate_extra_arg_name(component: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("argument has no name".into());
    }
    flags::check_flag(component, name)
}

/// Checks the value of one extraArgs entry `name` of `component` for Kubernetes `version`
/// (e.g. `v1.37.2`; an unparsable version checks against the default one). `Err` says what
/// the value should look like. Unknown names pass (their name is reported).
pub fn validate_extra_arg_value(
    component: &str,
    name: &str,
    value: &str,
    version: &str,
) -> Result<(), String> {
    flags::check_flag_value(component, name, value)?;
    let minor = versions::minor_of(version);
    let what = |e: String| {
        format!(
            "is not a valid value of {component} --{name}: {e}, and {component} would exit at start"
        )
    };
    match name {
        "feature-gates" => {
            crate::config::gates::check_feature_gates(component, value, minor).map_err(what)
        }
        "enable-admission-plugins" | "disable-admission-plugins" | "admission-control"
            if component == "kube-apiserver" =>
        {
            crate::config::gates::check_admission_plugins(value, minor).map_err(what)
        }
        _ => Ok(()),
    }
}
