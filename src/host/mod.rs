//! All access to the machine: files under a root prefix, commands, system facts.
//!
//! Nothing outside this module touches `std::fs` or `std::process` for host state. Paths
//! passed to a [`Host`] are the real absolute paths (`/etc/kubernetes/pki/ca.crt`); the host
//! maps them under its root (`--root DIR`, or the temporary root of `--dry-run`), so the
//! paths written *inside* files stay the real ones.

pub mod facts;
pub mod fake;
pub mod fs;

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use fake::FakeHost;
pub use fs::RealHost;

/// One network interface address, as found on the host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InterfaceAddr {
    /// Interface name, e.g. `eth0`.
    pub interface: String,
    pub addr: IpAddr,
    /// Prefix length of the interface's network.
    pub prefix_len: u8,
}

/// Facts about the machine that preflight, defaults and the wizard use.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct HostFacts {
    pub hostname: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Total memory in MiB (sysinfo totalram × unit ÷ 1024 ÷ 1024, as kubeadm).
    pub memory_mib: u64,
    /// Effective user id (0 = root).
    pub euid: u32,
    pub interfaces: Vec<InterfaceAddr>,
    /// Source address of the IPv4 (else IPv6) default route, kubeadm's suggested advertise address.
    pub default_route_addr: Option<IpAddr>,
    /// Kernel release (`uname -r`).
    pub kernel_release: String,
}

/// Output of a command run through [`Host::run`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CmdOutput {
    /// Exit code; `None` when killed by a signal.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    /// True when the command exited with code 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// The machine kubestrap works on. Implemented by [`RealHost`] and by test hosts.
pub trait Host: Send + Sync + std::fmt::Debug {
    /// The root prefix every path is mapped under (`/` on a real run).
    fn root(&self) -> &Path;
    /// Maps a real absolute path to where it lives under the root.
    fn resolve(&self, path: &Path) -> PathBuf {
        let rel = path.strip_prefix("/").unwrap_or(path);
        self.root().join(rel)
    }
    /// Reads a whole file. Errors: the io error of the mapped path.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Writes `data` atomically (temp file in the same directory, fsync, rename) with
    /// permission `mode`, creating missing parent directories with mode 0755.
    fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()>;
    /// Creates a directory and its parents; the last component gets `mode`.
    fn create_dir_all(&self, path: &Path, mode: u32) -> io::Result<()>;
    /// True when the path exists (follows symlinks).
    fn exists(&self, path: &Path) -> bool;
    /// Names of the entries of a directory (empty when it does not exist).
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Removes a file; a missing file is not an error.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Unix permission bits of a path.
    fn mode(&self, path: &Path) -> io::Result<u32>;
    /// Runs a command (no shell) and collects its output. In dry-run hosts, mutating
    /// commands are not run.
    fn run(&self, program: &str, args: &[&str]) -> io::Result<CmdOutput>;
    /// Finds an executable in `PATH`.
    fn which(&self, program: &str) -> Option<PathBuf>;
    /// Facts about the machine.
    fn facts(&self) -> HostFacts;
    /// True when a TCP listener can bind `port` on all addresses (kubeadm's `Port-<n>` check).
    fn port_free(&self, port: u16) -> bool;
    /// True when this host must not change the machine (dry-run).
    fn dry_run(&self) -> bool {
        false
    }
    /// An environment variable of the process (proxy settings for the `HTTPProxy` checks).
    fn env(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
    /// True when systemd is the init system (`/run/systemd/system` exists under the root),
    /// as kubeadm's `initsystem.GetInitSystem` decides.
    fn has_systemd(&self) -> bool {
        self.exists(Path::new("/run/systemd/system"))
    }
}

/// True when `program args` only reads state, so a dry-run host may run it. Everything
/// else (`systemctl restart`, `modprobe`, `swapoff`, `sysctl -w`, package installs, image
/// pulls) is not run in dry-run.
pub fn is_read_only_command(program: &str, args: &[&str]) -> bool {
    let first = args.first().copied().unwrap_or("");
    match program {
        "systemctl" => matches!(
            first,
            "is-active" | "is-enabled" | "show" | "status" | "cat" | "list-unit-files"
        ),
        "kubelet" | "containerd" | "kubeadm" => {
            args.contains(&"--version") || (first == "config" && args.get(1) == Some(&"dump"))
        }
        "crictl" => args
            .iter()
            .any(|a| matches!(*a, "info" | "version" | "images" | "ps" | "pods")),
        "sysctl" => !args
            .iter()
            .any(|a| a.contains('=') || *a == "-w" || *a == "-p" || *a == "--system"),
        "getent" | "uname" | "id" | "hostname" => true,
        _ => false,
    }
}
