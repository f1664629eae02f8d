//! kubeadm's init workflow: the phases of `kubestrap init` in kubeadm's order, composed
//! from the phase modules the way `cmd/kubeadm/app/cmd/init.go` composes its phases, for the
//! engine's generic runner ([`crate::engine::run_workflow`]).

use crate::engine::PhaseCtx;
use crate::engine::workflow::{Phase, PhaseFuture, Workflow, sync_fn};

/// Wraps an async phase function (`async fn(&PhaseCtx, &str) -> Result`) as a [`RunFn`].
macro_rules! async_fn {
    ($f:path) => {
        std::sync::Arc::new(|ctx: &PhaseCtx, sub: &str| -> PhaseFuture<'_> {
            Box::pin($f(ctx, sub))
        })
    };
}

/// Sub-phases of `etcd` (`phases::etcd::SUBPHASES` names, with kubeadm's descriptions).
const ETCD_SUBS: &[(&str, &str)] = &[(
    "local",
    "Generate the static Pod manifest file for a local, single-node local etcd instance",
)];
/// Sub-phases of `control-plane` (`phases::control_plane::SUBPHASES`, with descriptions).
const CONTROL_PLANE_SUBS: &[(&str, &str)] = &[
    (
        "apiserver",
        "Generates the kube-apiserver static Pod manifest",
    ),
    (
        "controller-manager",
        "Generates the kube-controller-manager static Pod manifest",
    ),
    (
        "scheduler",
        "Generates the kube-scheduler static Pod manifest",
    ),
];
fn external_etcd(ctx: &PhaseCtx) -> Option<String> {
    ctx.cfg
        .cluster
        .etcd
        .external
        .is_some()
        .then(|| "external etcd is configured".to_string())
}

fn no_upload_certs(ctx: &PhaseCtx) -> Option<String> {
    (!ctx.options.upload_certs).then(|| "Skipping phase. Please see --upload-certs".to_string())
}

fn dns_disabled(ctx: &PhaseCtx) -> Option<String> {
    ctx.cfg
        .cluster
        .dns
        .disabled
        .then(|| "dns.disabled is set".to_string())
}

fn proxy_disabled(ctx: &PhaseCtx) -> Option<String> {
    ctx.cfg
        .cluster
        .proxy
        .disabled
        .then(|| "proxy.disabled is set".to_string())
}

/// kubeadm's init workflow in order. Phases whose module is not in this build fail
/// with a [`PhaseError`] naming the module.
pub fn init_workflow() -> Workflow {
    let phases = vec![
        Phase::leaf(
            "preflight",
            "Run pre-flight checks",
            sync_fn(super::preflight::run),
        ),
        Phase::family(
            "certs",
            "Certificate generation",
            super::certs::SUBPHASES,
            sync_fn(super::certs::run),
        )
        .child_run_if("etcd-ca", external_etcd)
        .child_run_if("etcd-server", external_etcd)
        .child_run_if("etcd-peer", external_etcd)
        .child_run_if("etcd-healthcheck-client", external_etcd)
        .child_run_if("apiserver-etcd-client", external_etcd),
        Phase::family(
            "kubeconfig",
            "Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file",
            super::kubeconfig::SUBPHASES,
            sync_fn(super::kubeconfig::run),
        ),
        Phase::family(
            "etcd",
            "Generate static Pod manifest file for local etcd",
            ETCD_SUBS,
            sync_fn(super::etcd::run),
        )
        .child_run_if("local", external_etcd),
        Phase::family(
            "control-plane",
            "Generate all static Pod manifest files necessary to establish the control plane",
            CONTROL_PLANE_SUBS,
            sync_fn(super::control_plane::run),
        ),
        Phase::leaf(
            "kubelet-start",
            "Write kubelet settings and (re)start the kubelet",
            sync_fn(super::kubelet::run),
        ),
        Phase::leaf(
            "wait-control-plane",
            "Wait for the control plane to start",
            async_fn!(super::wait_control_plane::run),
        ),
        Phase::family(
            "upload-config",
            "Upload the kubeadm and kubelet configuration to a ConfigMap",
            super::upload_config::SUBPHASES,
            async_fn!(super::upload_config::run),
        ),
        Phase::leaf(
            "upload-certs",
            "Upload certificates to kubeadm-certs",
            async_fn!(super::upload_certs::run),
        )
        .run_if(no_upload_certs),
        Phase::leaf(
            "mark-control-plane",
            "Mark a node as a control-plane",
            async_fn!(super::mark_control_plane::run),
        ),
        Phase::leaf(
            "bootstrap-token",
            "Generates bootstrap tokens used to join a node to a cluster",
            async_fn!(super::bootstrap_token::run),
        ),
        Phase::family(
            "kubelet-finalize",
            "Updates settings relevant to the kubelet after TLS bootstrap",
            super::kubelet_finalize::SUBPHASES,
            async_fn!(super::kubelet_finalize::run),
        ),
        Phase::family(
            "addon",
            "Install required addons for passing conformance tests",
            super::addons::SUBPHASES,
            async_fn!(super::addons::run),
        )
        .child_run_if("coredns", dns_disabled)
        .child_run_if("kube-proxy", proxy_disabled),
        Phase::leaf(
            "show-join-command",
            "Show the join command for control-plane and worker node",
            async_fn!(super::show_join::run),
        ),
    ];
    Workflow { phases }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::workflow::is_skipped;

    #[test]
    fn ids_in_kubeadm_order() {
        let ids = init_workflow().ids();
        let pos = |id: &str| ids.iter().position(|i| i == id).unwrap();
        assert!(pos("preflight") < pos("certs/ca"));
        assert!(pos("certs/sa") < pos("kubeconfig/admin"));
        assert!(pos("control-plane/scheduler") < pos("kubelet-start"));
        assert!(pos("kubelet-start") < pos("wait-control-plane"));
        assert!(pos("addon/kube-proxy") < pos("show-join-command"));
    }

    #[test]
    fn sub_phase_names_match_the_phase_modules() {
        fn names(subs: &'static [(&'static str, &'static str)]) -> Vec<&'static str> {
            subs.iter().map(|(n, _)| *n).collect()
        }
        assert_eq!(names(ETCD_SUBS), super::super::etcd::SUBPHASES);
        assert_eq!(
            names(CONTROL_PLANE_SUBS),
            super::super::control_plane::SUBPHASES
        );
    }

    #[test]
    fn select_and_errors() {
        let wf = init_workflow();
        assert_eq!(
            wf.select("certs", Some("apiserver")).unwrap(),
            vec!["certs/apiserver"]
        );
        assert_eq!(wf.select("certs", Some("all")).unwrap().len(), 11);
        assert_eq!(wf.select("preflight", None).unwrap(), vec!["preflight"]);
        let e = wf.select("cert", None).unwrap_err();
        assert!(e.contains("did you mean \"certs\""), "{e}");
        assert!(wf.select("certs", Some("nope")).is_err());
        assert!(
            wf.validate_phase_ids(&["addon/all".into(), "certs/ca".into()])
                .is_ok()
        );
        assert!(wf.validate_phase_ids(&["addons".into()]).is_err());
        assert!(is_skipped("addon/coredns", &["addon".into()]));
        assert!(is_skipped("addon/coredns", &["addon/all".into()]));
        assert!(!is_skipped("addon/coredns", &["addon/kube-proxy".into()]));
    }
}
