//! The command line (clap), with kubeadm's command and flag names.
//!
//! Flags override values from `--config`, which override defaults; see
//! [`crate::config`] for how an [`InitFlags`] overlay is applied. Beside the types: the exit
//! codes, the failure printer and the host a run works on ([`init_host`], [`join_host`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod run;

pub use run::{
    DRYRUN_DIR_ENV, EXIT_INTERRUPTED, fail, init_host, join_host, requested_dry_run_dir,
};

/// kubestrap: bootstrap a Kubernetes control plane the way kubeadm does, behind a wizard.
#[derive(Debug, Parser)]
#[command(name = "kubestrap", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Treat DIR as the host's root: every file kubestrap reads or writes (/etc/kubernetes,
    /// /var/lib/kubelet, /var/lib/etcd, /proc, /sys) lands under DIR, while paths written
    /// inside files stay the real ones. Commands that would change this machine (sysctl -w,
    /// modprobe, swapoff, package installs, systemctl restart/stop/enable, image pulls) are
    /// never run under --root (kubestrap does not chroot): they are refused with a message
    /// saying so, preflight offers no fix that needs one, and the kubelet is not restarted.
    /// Read-only commands (kubelet --version, CRI Status and Version calls, systemctl is-active) still run.
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Output format of the non-interactive faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// kubeadm-like lines (`[certs] Generating "ca" certificate and key`).
    #[default]
    Text,
    /// One JSON event per line.
    Json,
}

/// kubeadm config API version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ApiVersionArg {
    #[value(name = "v1beta3")]
    V1beta3,
    #[default]
    #[value(name = "v1beta4")]
    V1beta4,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up the first control-plane node (kubeadm init).
    Init(InitArgs),
    /// Join this machine to a cluster (kubeadm join).
    Join(JoinArgs),
    /// Print, validate, migrate and export kubeadm configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage bootstrap tokens (kubeadm token).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Performs a best effort revert of changes made to this host by 'kubeadm init' or
    /// 'kubeadm join' (kubeadm reset).
    Reset(ResetArgs),
    /// Commands related to handling Kubernetes certificates (kubeadm certs).
    #[command(subcommand, visible_alias = "certificates")]
    Certs(CertsCommand),
    /// Kubeconfig file utilities (kubeadm kubeconfig).
    #[command(subcommand)]
    Kubeconfig(KubeconfigCommand),
    /// Upgrade your cluster smoothly to a newer version with this command (kubeadm upgrade).
    #[command(subcommand)]
    Upgrade(UpgradeCommand),
    /// Print the kubestrap version and the Kubernetes versions it carries.
    Version(VersionArgs),
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man page (troff) to standard output.
    Man,
}

/// Flags shared by `init`, `init phase` and `config export`: kubeadm's init flags that
/// change the configuration.
#[derive(Debug, Clone, Default, Args)]
pub struct InitFlags {
    /// Path to a kubeadm configuration file (InitConfiguration, ClusterConfiguration,
    /// KubeletConfiguration, KubeProxyConfiguration documents).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The IP address the API server advertises it is listening on.
    #[arg(long, global = true, value_name = "IP")]
    pub apiserver_advertise_address: Option<String>,
    /// Port for the API server to bind to.
    #[arg(long, global = true, value_name = "PORT")]
    pub apiserver_bind_port: Option<i32>,
    /// A stable IP address or DNS name for the control plane (host or host:port).
    #[arg(long, global = true, value_name = "HOST[:PORT]")]
    pub control_plane_endpoint: Option<String>,
    /// IP address range(s) for the pod network (comma-separated for dual-stack).
    #[arg(long, global = true, value_name = "CIDR")]
    pub pod_network_cidr: Option<String>,
    /// IP address range(s) for service virtual IPs.
    #[arg(long, global = true, value_name = "CIDR")]
    pub service_cidr: Option<String>,
    /// DNS domain for services, e.g. cluster.local.
    #[arg(long, global = true, value_name = "DOMAIN")]
    pub service_dns_domain: Option<String>,
    /// Extra Subject Alternative Names (IPs and DNS names) for the API server certificate.
    #[arg(long, global = true, value_name = "SANS", value_delimiter = ',')]
    pub apiserver_cert_extra_sans: Vec<String>,
    /// The Kubernetes version of the control plane, e.g. v1.37.2.
    #[arg(long, global = true, value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
    /// Registry to pull control-plane images from.
    #[arg(long, global = true, value_name = "REPO")]
    pub image_repository: Option<String>,
    /// Path to the CRI socket, e.g. unix:///var/run/containerd/containerd.sock.
    #[arg(long, global = true, value_name = "SOCKET")]
    pub cri_socket: Option<String>,
    /// Name of this node (default: the lower-cased hostname).
    #[arg(long, global = true, value_name = "NAME")]
    pub node_name: Option<String>,
    /// The bootstrap token to create, [a-z0-9]{6}.[a-z0-9]{16}.
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// How long the bootstrap token lives (0 = never expires), e.g. 24h0m0s.
    #[arg(long, global = true, value_name = "DURATION")]
    pub token_ttl: Option<String>,
    /// Preflight checks whose errors become warnings, e.g. Swap,NumCPU, or all.
    #[arg(long, global = true, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Vec<String>,
    /// Phases to skip, e.g. addon/kube-proxy.
    #[arg(long, global = true, value_name = "PHASES", value_delimiter = ',')]
    pub skip_phases: Vec<String>,
    /// Upload control-plane certificates to the kubeadm-certs Secret.
    #[arg(long, global = true)]
    pub upload_certs: bool,
    /// Key used to encrypt the control-plane certificates in the kubeadm-certs Secret (64 hex).
    #[arg(long, global = true, value_name = "KEY")]
    pub certificate_key: Option<String>,
    /// The path where certificates are saved and stored (certificatesDir; default
    /// /etc/kubernetes/pki).
    #[arg(long, global = true, value_name = "DIR")]
    pub cert_dir: Option<String>,
    /// kubeadm's own feature gates as key=value pairs separated by commas (featureGates), e.g.
    /// RootlessControlPlane=false. A gate given here wins over the file's.
    #[arg(long, global = true, value_name = "GATES")]
    pub feature_gates: Option<String>,
}

/// `kubestrap init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub flags: InitFlags,
    /// Do not change the machine: write every file under a new private temporary directory
    /// (removed at the end unless --dry-run-dir) and print what would be sent to the API
    /// server.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Run without the wizard (also required when standard input is not a terminal).
    #[arg(long, global = true)]
    pub non_interactive: bool,
    /// Output of the non-interactive run.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Apply the fixes preflight offers (swapoff, modprobe, sysctl, containerd settings).
    /// Under --root, fixes that would run a command on this machine are not offered.
    #[arg(long, global = true)]
    pub fix: bool,
    /// Print secrets (the bootstrap token secret, the certificate key) in the output; without
    /// it they are shown as <redacted> in the text and JSON output. The run log never has them.
    #[arg(long, global = true)]
    pub show_secrets: bool,
    /// Don't print the bootstrap token (kubeadm's flag): it is withheld even with
    /// --show-secrets.
    #[arg(long, global = true)]
    pub skip_token_print: bool,
    /// Don't print the key used to encrypt the control-plane certificates (kubeadm's flag): it
    /// is withheld even with --show-secrets.
    #[arg(long, global = true)]
    pub skip_certificate_key_print: bool,
    /// kubeadm's log verbosity (klog's --v, 0 to 10). kubestrap has one level of detail more
    /// than its default: 5 and above also print each phase's start and end and every file
    /// written (what the JSON output always has); 0 to 4 print kubeadm's lines.
    #[arg(long = "v", short = 'v', global = true, value_name = "LEVEL", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=10))]
    pub verbosity: u8,
    /// With --dry-run: write the files into DIR and keep it (also $KUBESTRAP_INIT_DRYRUN_DIR);
    /// without it the dry run uses a new private directory and removes it at the end.
    #[arg(long, global = true, value_name = "DIR")]
    pub dry_run_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub phase: Option<InitSub>,
}

/// `kubestrap init phase ...`.
#[derive(Debug, Subcommand)]
pub enum InitSub {
    /// Run one phase of init (and all of its sub-phases), e.g. `certs all`, `certs apiserver`.
    Phase {
        /// Phase name, e.g. `preflight`, `certs`, `kubeconfig`, `etcd`, `control-plane`.
        name: String,
        /// Sub-phase name, or `all`.
        sub: Option<String>,
    },
}

/// `kubestrap join`.
#[derive(Debug, Clone, Default, Args)]
pub struct JoinArgs {
    /// host:port of the API server to discover the cluster from.
    #[arg(value_name = "ENDPOINT")]
    pub endpoint: Option<String>,
    /// Path to a JoinConfiguration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Token for both discovery and TLS bootstrap.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Token for discovery only.
    #[arg(long, value_name = "TOKEN")]
    pub discovery_token: Option<String>,
    /// Pin of the cluster CA, sha256:<hex> (repeatable or comma-separated).
    #[arg(long, value_name = "HASH", value_delimiter = ',')]
    pub discovery_token_ca_cert_hash: Vec<String>,
    /// Join without pinning the cluster CA (unsafe).
    #[arg(long)]
    pub discovery_token_unsafe_skip_ca_verification: bool,
    /// A kubeconfig file or https URL to discover the cluster from.
    #[arg(long, value_name = "FILE|URL")]
    pub discovery_file: Option<String>,
    /// Token for the TLS bootstrap only.
    #[arg(long, value_name = "TOKEN")]
    pub tls_bootstrap_token: Option<String>,
    /// Name of this node.
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// CRI socket.
    #[arg(long, value_name = "SOCKET")]
    pub cri_socket: Option<String>,
    /// Join as a control-plane node.
    #[arg(long)]
    pub control_plane: bool,
    /// Key to decrypt the kubeadm-certs Secret (with --control-plane).
    #[arg(long, value_name = "KEY")]
    pub certificate_key: Option<String>,
    /// Advertise address of this control-plane node.
    #[arg(long, value_name = "IP")]
    pub apiserver_advertise_address: Option<String>,
    /// Bind port of this control-plane node's API server.
    #[arg(long, value_name = "PORT")]
    pub apiserver_bind_port: Option<i32>,
    /// Preflight checks whose errors become warnings.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Vec<String>,
    /// Phases to skip.
    #[arg(long, value_name = "PHASES", value_delimiter = ',')]
    pub skip_phases: Vec<String>,
    /// Do not change the machine; discovery still runs (it only reads).
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: write the files into DIR and keep it; without it the dry run uses a
    /// new private directory and removes it at the end.
    #[arg(long, value_name = "DIR")]
    pub dry_run_dir: Option<PathBuf>,
    /// Print secrets (token secrets) in the output; without it they are shown as <redacted>.
    #[arg(long)]
    pub show_secrets: bool,
    /// Run without the wizard.
    #[arg(long)]
    pub non_interactive: bool,
    /// Output of the non-interactive run.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// `kubestrap config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print default configurations.
    #[command(subcommand)]
    Print(ConfigPrint),
    /// Check a configuration file; prints `ok` or each problem with its field path and line.
    Validate {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Convert an older configuration file (v1beta2, v1beta3) to v1beta4.
    Migrate {
        #[arg(long, value_name = "FILE")]
        old_config: PathBuf,
        #[arg(long, value_name = "FILE")]
        new_config: Option<PathBuf>,
    },
    /// Print (or write) the effective configuration after flags, file and defaults.
    Export {
        #[command(flatten)]
        flags: Box<InitFlags>,
        /// kubeadm API version to write.
        #[arg(long, value_enum, default_value_t = ApiVersionArg::V1beta4)]
        api_version: ApiVersionArg,
        /// Write to FILE instead of standard output (an existing file is not overwritten).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Include bootstrap token secrets in the output.
        #[arg(long)]
        with_token: bool,
    },
    /// Interact with container images used by kubeadm.
    #[command(subcommand)]
    Images(ImagesCommand),
}

/// `kubestrap reset` (kubeadm's `app/cmd/reset.go` flags).
#[derive(Debug, Clone, Default, Args)]
pub struct ResetArgs {
    /// The path to the directory where the certificates are stored. If specified, clean this
    /// directory (default /etc/kubernetes/pki).
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<String>,
    /// Cleanup the "/etc/kubernetes/tmp" directory.
    #[arg(long)]
    pub cleanup_tmp_dir: bool,
    /// Path to a kubeadm configuration file with a ResetConfiguration document.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Path to the CRI socket to connect to (detected when empty).
    #[arg(long, value_name = "SOCKET")]
    pub cri_socket: Option<String>,
    /// Don't apply any changes; just output what would be done.
    #[arg(long)]
    pub dry_run: bool,
    /// Reset the node without prompting for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// Preflight checks whose errors become warnings (IsPrivilegedUser), or all.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Vec<String>,
    /// The kubeconfig file to use when talking to the cluster.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/kubernetes/admin.conf"
    )]
    pub kubeconfig: PathBuf,
    /// Phases to skip: preflight, remove-etcd-member, cleanup-node.
    #[arg(long, value_name = "PHASES", value_delimiter = ',')]
    pub skip_phases: Vec<String>,
    /// On a terminal, ask with kubeadm's [y/N] question instead of the confirmation screen.
    #[arg(long)]
    pub non_interactive: bool,
}

/// The names `certs renew` accepts (kubeadm's renewal handlers) and `all`.
pub const RENEW_NAMES: &[&str] = &[
    "all",
    "admin.conf",
    "apiserver",
    "apiserver-etcd-client",
    "apiserver-kubelet-client",
    "controller-manager.conf",
    "etcd-healthcheck-client",
    "etcd-peer",
    "etcd-server",
    "front-proxy-client",
    "scheduler.conf",
    "super-admin.conf",
];

/// Flags of `certs check-expiration` and `certs renew`.
#[derive(Debug, Clone, Default, Args)]
pub struct CertsFlags {
    /// The path where to save the certificates (default /etc/kubernetes/pki, or the
    /// cluster's certificatesDir).
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<String>,
    /// Path to a kubeadm configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The kubeconfig file to use when talking to the cluster (to read its configuration).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/kubernetes/admin.conf"
    )]
    pub kubeconfig: PathBuf,
}

/// `kubestrap certs ...` (kubeadm's `app/cmd/certs.go`).
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Check certificates expiration for a Kubernetes cluster.
    CheckExpiration {
        #[command(flatten)]
        flags: CertsFlags,
        /// Output format: text, json or yaml.
        #[arg(short, long, default_value = "text", value_parser = ["text", "json", "yaml"])]
        output: String,
    },
    /// Renew certificates for a Kubernetes cluster: one of kubeadm's names, or all.
    Renew {
        /// all, admin.conf, apiserver, apiserver-etcd-client, apiserver-kubelet-client,
        /// controller-manager.conf, etcd-healthcheck-client, etcd-peer, etcd-server,
        /// front-proxy-client, scheduler.conf, super-admin.conf.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(RENEW_NAMES))]
        name: String,
        #[command(flatten)]
        flags: CertsFlags,
    },
    /// Generate certificate keys (for init --upload-certs --certificate-key).
    CertificateKey,
}

/// `kubestrap kubeconfig ...` (kubeadm's `app/cmd/kubeconfig.go`).
#[derive(Debug, Subcommand)]
pub enum KubeconfigCommand {
    /// Output a kubeconfig file for an additional user.
    User {
        /// The name of user. It will be used as the CN if client certificates are created.
        #[arg(long, value_name = "NAME", required = true)]
        client_name: String,
        /// The organizations of the client certificate. It will be used as the O if client
        /// certificates are created.
        #[arg(long, value_name = "ORG", value_delimiter = ',')]
        org: Vec<String>,
        /// The token that should be used as the authentication mechanism for this kubeconfig,
        /// instead of client certificates.
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
        /// The validity period of the client certificate. It is an offset from the current time.
        #[arg(long, value_name = "DURATION", default_value = "8760h0m0s")]
        validity_period: String,
        /// Path to a kubeadm configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// `kubestrap config images ...` (kubeadm's `config images list|pull`).
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Print a list of images kubeadm will use. The configuration file is used in case any
    /// images or image repositories are customized.
    List {
        #[command(flatten)]
        flags: ImagesFlags,
        /// Output format: text, json or yaml.
        #[arg(short, long, default_value = "text", value_parser = ["text", "json", "yaml"])]
        output: String,
    },
    /// Pull images used by kubeadm.
    Pull {
        #[command(flatten)]
        flags: ImagesFlags,
        /// Path to the CRI socket to connect to.
        #[arg(long, value_name = "SOCKET")]
        cri_socket: Option<String>,
    },
}

/// Flags that change the images (kubeadm's `AddImagesCommonConfigFlags`).
#[derive(Debug, Clone, Default, Args)]
pub struct ImagesFlags {
    /// Path to a kubeadm configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Choose a specific Kubernetes version for the control plane (default: kubestrap's
    /// default version; no network lookup).
    #[arg(long, value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
    /// Choose a container registry to pull control plane images from.
    #[arg(long, value_name = "REPO")]
    pub image_repository: Option<String>,
    /// A set of key=value pairs that describe feature gates for various features.
    #[arg(long, value_name = "GATES")]
    pub feature_gates: Option<String>,
}

/// `kubestrap config print ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigPrint {
    /// Default InitConfiguration and ClusterConfiguration.
    InitDefaults {
        /// Also print component configs: KubeletConfiguration,KubeProxyConfiguration.
        #[arg(long, value_delimiter = ',')]
        component_configs: Vec<String>,
    },
    /// Default JoinConfiguration.
    JoinDefaults,
}

/// `kubestrap token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a bootstrap token on the cluster.
    Create {
        /// The token to create ([a-z0-9]{6}.[a-z0-9]{16}); generated when absent.
        token: Option<String>,
        /// Print the whole `kubestrap join` command for the token instead of the token alone.
        #[arg(long)]
        print_join_command: bool,
        /// With --print-join-command: print the control-plane join command with this key
        /// (the one `init phase upload-certs --upload-certs` printed).
        #[arg(long, value_name = "KEY")]
        certificate_key: Option<String>,
        /// How long the token is valid (a Go duration such as 24h0m0s or 2h; 0 never expires).
        #[arg(long, default_value = "24h0m0s")]
        ttl: String,
        /// What the token may be used for: signing (of cluster-info, for discovery) and/or
        /// authentication (as a bearer token, for the TLS bootstrap).
        #[arg(long, value_delimiter = ',', default_value = "signing,authentication")]
        usages: Vec<String>,
        /// Extra groups the token authenticates as (system:bootstrappers:...); needs the
        /// authentication usage.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "system:bootstrappers:kubeadm:default-node-token"
        )]
        groups: Vec<String>,
        /// A human-readable note stored with the token (shown by `token list`).
        #[arg(long, default_value = "")]
        description: String,
        /// The kubeconfig to talk to the cluster with (its server is the address tried).
        #[arg(long, default_value = "/etc/kubernetes/admin.conf")]
        kubeconfig: PathBuf,
    },
    /// List bootstrap tokens.
    List {
        /// The kubeconfig to talk to the cluster with (its server is the address tried).
        #[arg(long, default_value = "/etc/kubernetes/admin.conf")]
        kubeconfig: PathBuf,
    },
    /// Delete bootstrap tokens by id or whole token.
    Delete {
        /// Token ids ([a-z0-9]{6}) or whole tokens to delete.
        tokens: Vec<String>,
        /// The kubeconfig to talk to the cluster with (its server is the address tried).
        #[arg(long, default_value = "/etc/kubernetes/admin.conf")]
        kubeconfig: PathBuf,
    },
    /// Print a new random token; does not touch the cluster.
    Generate,
}

/// Flags every `upgrade` sub-command shares (kubeadm's `applyPlanFlags`).
#[derive(Debug, Clone, Args)]
pub struct UpgradeFlags {
    /// The kubeconfig file to use when talking to the cluster.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/kubernetes/admin.conf"
    )]
    pub kubeconfig: PathBuf,
    /// Path to a kubeadm configuration file with an UpgradeConfiguration document
    /// (kubeadm.k8s.io/v1beta4): its apply/plan fields and timeouts.upgradeManifests.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Checks whose errors become warnings, e.g. CreateJob,ControlPlaneNodesReady, or all.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Vec<String>,
    /// Show unstable versions of Kubernetes as an upgrade alternative and allow upgrading to
    /// an alpha/beta/release candidate version (kubestrap carries none; accepted for kubeadm
    /// compatibility).
    #[arg(long)]
    pub allow_experimental_upgrades: bool,
    /// Show release candidate versions of Kubernetes as an upgrade alternative (accepted for
    /// kubeadm compatibility; kubestrap carries none).
    #[arg(long)]
    pub allow_release_candidate_upgrades: bool,
}

/// `kubestrap upgrade ...` (kubeadm's `app/cmd/upgrade/`).
#[derive(Debug, Subcommand)]
pub enum UpgradeCommand {
    /// Check which versions are available to upgrade to and validate whether your current
    /// cluster is upgradeable.
    Plan {
        /// The version to plan for (default: the newest carried version the skew policy allows).
        #[arg(value_name = "VERSION", id = "upgrade-version")]
        version: Option<String>,
        #[command(flatten)]
        flags: UpgradeFlags,
        /// Output format: text, json or yaml.
        #[arg(short, long, default_value = "text", value_parser = ["text", "json", "yaml"])]
        output: String,
    },
    /// Upgrade your Kubernetes cluster to the specified version.
    Apply(UpgradeApplyArgs),
    /// Upgrade commands for a node in the cluster.
    Node(UpgradeNodeArgs),
}

/// `kubestrap upgrade apply VERSION` (kubeadm's `app/cmd/upgrade/apply.go` flags).
#[derive(Debug, Clone, Args)]
pub struct UpgradeApplyArgs {
    /// The version to upgrade to, e.g. v1.37.2 (one of the carried versions).
    #[arg(value_name = "VERSION", id = "upgrade-version")]
    pub version: Option<String>,
    #[command(flatten)]
    pub flags: UpgradeFlags,
    /// Perform the renewal of certificates used by component changed during upgrades.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub certificate_renewal: bool,
    /// Perform the upgrade of etcd.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub etcd_upgrade: bool,
    /// Do not change any state, just output what actions would be performed.
    #[arg(long)]
    pub dry_run: bool,
    /// Force upgrading although some requirements might not be met. This also implies
    /// non-interactive mode.
    #[arg(short, long)]
    pub force: bool,
    /// Perform the upgrade and do not prompt for confirmation (non-interactive mode).
    #[arg(short, long)]
    pub yes: bool,
}

/// `kubestrap upgrade node` (kubeadm's `app/cmd/upgrade/node.go` flags).
#[derive(Debug, Clone, Args)]
pub struct UpgradeNodeArgs {
    /// The kubeconfig file to use when talking to the cluster.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/kubernetes/admin.conf"
    )]
    pub kubeconfig: PathBuf,
    /// Perform the renewal of certificates used by component changed during upgrades.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub certificate_renewal: bool,
    /// Perform the upgrade of etcd.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub etcd_upgrade: bool,
    /// Do not change any state, just output the actions that would be performed.
    #[arg(long)]
    pub dry_run: bool,
    /// Checks whose errors become warnings, or all.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Vec<String>,
    /// Path to a kubeadm configuration file with an UpgradeConfiguration document.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `kubestrap version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// `short` prints the version only.
    #[arg(short, long)]
    pub output: Option<String>,
}
