//! Every user-facing string of the wizard, in one place.

use super::form::FieldId;

pub const APP: &str = "kubestrap · init";

pub const WELCOME_INTRO: &str = "This sets up the first control-plane node of a Kubernetes cluster: \
certificates, the etcd and control-plane static pods, the kubelet, and a join command for more \
nodes. Nothing changes until you press Start on the review screen.";

pub const TOO_SMALL: &str = "The terminal is too small for the wizard.";
pub const TOO_SMALL_HINT: &str = "Make it at least 80 columns by 24 rows.";

/// Label of a form field.
pub fn label(f: FieldId) -> &'static str {
    match f {
        FieldId::Advertise => "Advertise address",
        FieldId::BindPort => "Bind port",
        FieldId::Endpoint => "Control-plane endpoint",
        FieldId::PodSubnet => "Pod subnet",
        FieldId::ServiceSubnet => "Service subnet",
        FieldId::DnsDomain => "DNS domain",
        FieldId::Version => "Kubernetes version",
        FieldId::NodeName => "Node name",
        FieldId::ImageRepo => "Image repository",
        FieldId::CriSocket => "CRI socket",
        FieldId::CertSans => "Certificate SANs",
        FieldId::KeyAlgo => "Key algorithm",
    }
}

/// What a field means, its default and why (shown under the focused field).
pub fn help(f: FieldId) -> &'static str {
    match f {
        FieldId::Advertise => {
            "The IP address the API server announces to the other nodes. Default: the address of the default route. F2 cycles the detected addresses."
        }
        FieldId::BindPort => {
            "The port the API server listens on. Default 6443; change it only if that port is taken."
        }
        FieldId::Endpoint => {
            "Optional. A DNS name or load-balancer address shared by all control-plane nodes (host or host:port). Leave empty for one control plane; it cannot be added later, so set it now if you plan high availability."
        }
        FieldId::PodSubnet => {
            "The IP range pods get their addresses from. Your pod network add-on (CNI) must use the same range. F2: Flannel 10.244.0.0/16, Calico 192.168.0.0/16, Cilium 10.0.0.0/16. IPv4,IPv6 for dual-stack."
        }
        FieldId::ServiceSubnet => {
            "The IP range of Service virtual IPs. Default 10.96.0.0/12. Must not overlap the pod subnet or your host networks."
        }
        FieldId::DnsDomain => {
            "The DNS domain of Services (my-svc.my-ns.svc.cluster.local). Default cluster.local; keep it unless you know you need another."
        }
        FieldId::Version => {
            "The control-plane version to install. Default: the newest version kubestrap carries. F2 cycles the supported versions."
        }
        FieldId::NodeName => {
            "The name this node registers with. Default: this machine's host name in lower case."
        }
        FieldId::ImageRepo => {
            "Where control-plane images are pulled from. Default registry.k8s.io; set a mirror for air-gapped hosts."
        }
        FieldId::CriSocket => {
            "The container runtime's socket, filled in with the socket found on this machine. F2 cycles containerd, CRI-O and cri-dockerd."
        }
        FieldId::CertSans => {
            "Extra names and IPs for the API server certificate, comma-separated (e.g. a public IP or DNS name you will use with kubectl)."
        }
        FieldId::KeyAlgo => {
            "Key type of every certificate. Default RSA-2048 (what kubeadm uses). ECDSA-P256 is faster and smaller. F2 cycles."
        }
    }
}

pub const KEYS_FORM: &str = "Tab/↑↓ field · F2 choices · Enter next step · Esc back · ? help";
pub const KEYS_WELCOME: &str = "Enter next · ? help · q quit";
/// The welcome screen's keys when an upgrade is offered.
pub const KEYS_WELCOME_UPGRADE: &str = "Enter next · u upgrade · ? help · q quit";
/// The upgrade plan screen's keys.
pub const KEYS_UPGRADE_PLAN: &str = "Enter/y upgrade · Esc/n back · ? help";
/// The upgrade's run screen's keys while it runs.
pub const KEYS_UPGRADE_RUN: &str = "↑↓ scroll log · Ctrl-C cancel · ? help";
/// The upgrade's run screen's keys once it ended.
pub const KEYS_UPGRADE_ENDED: &str = "↑↓ scroll log · Enter/q quit";
pub const KEYS_ARGS: &str =
    "a add · e edit · d delete · K/J move · Enter next step · Esc back · ? help";
pub const KEYS_ARGS_EDIT: &str = "Tab name↔value (completes the name) · Enter save · Esc cancel";
pub const KEYS_REVIEW: &str =
    "Enter start · u upload certs · x export · ↑↓ scroll · Esc back · ? help";
/// The review screen's toggle of `--upload-certs`.
pub const UPLOAD_CERTS_LABEL: &str =
    "Upload certificates for more control-plane nodes (--upload-certs) · u";
pub const KEYS_RUN: &str = "Tab switch pane · ↑↓ scroll · f fix check · Ctrl-C cancel · ? help";
pub const KEYS_DONE: &str =
    "c copy join command · w write it to a file · x export · p preflight · q quit";
/// The run screen reopened after the run ended (`p` on the done screen).
pub const KEYS_RUN_ENDED: &str = "Tab switch pane · ↑↓ scroll · f fix check · Esc back · ? help";
pub const KEYS_FAILED: &str =
    "r retry from the failed phase · i ignore preflight errors · x export · q quit";
pub const KEYS_CANCELLED: &str = "r start again · q quit";

pub const HELP: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous field or pane"),
    ("↑ ↓", "move between fields, scroll panes"),
    ("F2 or Ctrl-N", "next suggested value of the field"),
    ("Enter", "confirm, next step"),
    ("Esc", "back (closes this help)"),
    ("a e d K J", "args editor: add, edit, delete, move up/down"),
    ("u", "review: upload certificates for more control planes"),
    ("x", "export kubeadm.yaml (review, done, failure)"),
    ("c / w", "done: copy (OSC 52) / write the join command"),
    (
        "r / i",
        "failure: retry / ignore preflight errors and go on",
    ),
    ("f", "run: apply the fix of the selected preflight check"),
    ("mouse wheel", "scroll the review text or the focused pane"),
    ("Ctrl-C, q", "cancel (asks first)"),
];

pub const CONFIRM_QUIT: &str = "Quit the wizard? Nothing has been changed on this machine.";
/// What Ctrl-C (or q) during a run asks; README's "The wizard" says the same.
pub const CONFIRM_CANCEL: &str = "Cancel the run? Waits stop at once and the run ends at the next safe point; the files already written stay.";
pub const CONFIRM_YN: &str = "y yes · n no";
pub const PROMPT_EXPORT: &str = "Export kubeadm.yaml to:";
pub const PROMPT_JOIN: &str = "Write the join command to:";
pub const PROMPT_KEYS: &str = "Enter write · Esc cancel";

pub const ADMIN_CONF_HINT: &str = "To use the cluster as a regular user:\n  mkdir -p $HOME/.kube\n  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n  sudo chown $(id -u):$(id -g) $HOME/.kube/config\nAs root: export KUBECONFIG=/etc/kubernetes/admin.conf";

/// Headline of the done screen after `--dry-run`: nothing runs, so nothing is "ready".
pub const DRY_RUN_DONE: &str = "Dry run finished; nothing was started.";

/// The preflight errors a real (not dry) run would stop on, or `None` when there are none.
pub fn dry_run_preflight_errors(names: &[String]) -> Option<String> {
    (!names.is_empty()).then(|| {
        format!(
            "A real init would stop in preflight on {} error(s): {}",
            names.len(),
            names.join(", ")
        )
    })
}
