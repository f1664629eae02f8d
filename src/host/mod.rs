//! All access to the machine: files under a root prefix, commands, system facts.
//!
//! Nothing outside this module touches `std::fs` or `std::process` for host state. Paths
//! passed to a [`Host`] are the real absolute paths (`/etc/kubernetes/pki/ca.crt`); the host
//! maps them under its root (`--root DIR`, or the temporary root of `--dry-run`), so the
//! paths written *inside* files stay the real ones.

pub mod cri;
pub mod dryrun;
pub mod facts;
pub mod fake;
pub mod fs;
pub mod log;
pub mod runtime;

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use dryrun::DryRunDir;
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

/// One file of [`Host::write_atomic_all`]: a real absolute path, its bytes and its mode.
#[derive(Debug, Clone, Copy)]
pub struct FileWrite<'a> {
    pub path: &'a Path,
    pub data: &'a [u8],
    pub mode: u32,
}

/// Why [`Host::write_atomic_all`] stopped.
#[derive(Debug)]
pub struct WriteAllError {
    /// Index of the file that failed.
    pub failed: usize,
    /// How many files (from the first) are in place.
    pub written: usize,
    pub source: io::Error,
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
    /// [`Host::write_atomic`] without the syncs: a SIGKILL still never leaves a torn file, but
    /// a power loss may lose the write. For records whose loss only repeats work (the engine's
    /// progress record). This default syncs anyway.
    fn write_atomic_unsynced(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
        self.write_atomic(path, data, mode)
    }
    /// Writes a group of files atomically, in order, paying for durability once: every
    /// temporary file first, their fsyncs together, a commit record, the renames, one sync
    /// per directory ([`RealHost`] does so; this default writes them one by one). A crash at
    /// any point leaves each file old or new, never torn; once the commit record is durable,
    /// the next `host::fs::sweep_stale_temps` finishes the renames, so the group ends all old
    /// or all new. Errors: which file failed and how many were renamed into place.
    fn write_atomic_all(&self, files: &[FileWrite<'_>]) -> Result<(), WriteAllError> {
        for (i, f) in files.iter().enumerate() {
            self.write_atomic(f.path, f.data, f.mode)
                .map_err(|source| WriteAllError {
                    failed: i,
                    written: i,
                    source,
                })?;
        }
        Ok(())
    }
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
    /// commands are not run; under a root other than `/`, they are refused (an error of kind
    /// `PermissionDenied` saying why), as [`command_policy`] decides.
    fn run(&self, program: &str, args: &[&str]) -> io::Result<CmdOutput>;
    /// Why this host would refuse to run `program args` (see [`command_policy`]), or `None`
    /// when [`Host::run`] would run it (or, in dry-run, report it as not run). Phases ask
    /// first where a refused command should be skipped with a note rather than fail.
    fn command_refusal(&self, _program: &str, _args: &[&str]) -> Option<String> {
        None
    }
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
    /// True when everything written through this host is removed when the run ends and no
    /// later run reads it (a private dry-run directory): records kept only for a re-run, such
    /// as the engine's progress record, are not written.
    fn is_scratch(&self) -> bool {
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
    /// Removes a file or a whole directory tree (Go's `os.RemoveAll`, as kubeadm reset
    /// deletes); a missing path is not an error. Symlinks are removed, never followed.
    fn remove_all(&self, path: &Path) -> io::Result<()> {
        let p = self.resolve(path);
        match std::fs::symlink_metadata(&p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&p),
            Ok(_) => std::fs::remove_file(&p),
        }
    }
    /// Resolves the symlinks of `path` inside the root (Go's `filepath.EvalSymlinks`) and
    /// returns the real path it names. Errors: it does not exist, or it resolves outside
    /// the root.
    fn eval_symlinks(&self, path: &Path) -> io::Result<PathBuf> {
        let root = std::fs::canonicalize(self.root())?;
        let resolved = std::fs::canonicalize(self.resolve(path))?;
        match resolved.strip_prefix(&root) {
            Ok(rel) => Ok(Path::new("/").join(rel)),
            Err(_) => Err(io::Error::other(format!(
                "{} resolves to {}, outside {}",
                path.display(),
                resolved.display(),
                root.display()
            ))),
        }
    }
    /// Unmounts the mount at `path` (under the root) with `umount2(2)` flags. A dry-run host
    /// does nothing.
    fn unmount(&self, path: &Path, flags: i32) -> io::Result<()> {
        if self.dry_run() {
            return Ok(());
        }
        use std::os::unix::ffi::OsStrExt;
        let p = std::ffi::CString::new(self.resolve(path).as_os_str().as_bytes())
            .map_err(io::Error::other)?;
        // SAFETY: `p` is a valid NUL-terminated path that outlives the call.
        let rc = unsafe { libc::umount2(p.as_ptr(), flags) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    /// The container runtime at CRI `endpoint` (`unix:///run/containerd/containerd.sock`),
    /// spoken to over CRI v1 gRPC on its socket (under the root, like every path). Calls that
    /// change the machine follow [`command_policy`] as the pseudo-command `cri <Method>`.
    fn container_runtime(&self, endpoint: &str) -> std::sync::Arc<dyn cri::ContainerRuntime> {
        std::sync::Arc::new(cri::GrpcRuntime::new(
            endpoint,
            self.resolve(&cri::socket_path(endpoint)),
            self.root(),
            self.dry_run(),
        ))
    }
}

/// What a host does with a command it is asked to run. Decided by [`command_policy`] alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandPolicy {
    /// Run it on this machine.
    Run,
    /// Dry run: do not run it; report it as not run.
    Skip,
    /// Refuse it: it would change this machine rather than the root the host works under.
    /// The message says why.
    Refuse(String),
}

/// The one place that decides which commands a host may start on this machine.
///
/// Commands that only read state ([`is_read_only_command`]) always run. Every other command
/// changes the machine (`sysctl -w`, `modprobe`, `swapoff`, package installs,
/// `systemctl restart|stop|enable`, image pulls): a dry-run host skips it, a host rooted at
/// `/` runs it, and a host rooted anywhere else (`--root DIR`) refuses it, because the
/// command would change this machine, not DIR. kubestrap does not chroot into DIR.
pub fn command_policy(root: &Path, dry_run: bool, program: &str, args: &[&str]) -> CommandPolicy {
    if is_read_only_command(program, args) {
        CommandPolicy::Run
    } else if dry_run {
        CommandPolicy::Skip
    } else if root == Path::new("/") || changes_only_remote_state(program) {
        CommandPolicy::Run
    } else {
        CommandPolicy::Refuse(refusal_message(root, program, args))
    }
}

/// True for programs that only talk to a remote service and never change this machine:
/// `etcdctl` (reset's `remove-etcd-member` removes this node's member from the etcd cluster
/// over the network). They run under `--root`; a dry run still skips them.
pub fn changes_only_remote_state(program: &str) -> bool {
    program == "etcdctl"
}

/// The message of a command refused under `--root DIR` (see [`command_policy`]).
pub fn refusal_message(root: &Path, program: &str, args: &[&str]) -> String {
    let line = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "--root {dir}: kubestrap does not run `{line}` under --root; it would change this machine, not {dir}",
        dir = root.display()
    )
}

/// Starts the processes of a [`RealHost`] once [`command_policy`] allowed them. The default,
/// [`ProcessRunner`], starts them on this machine; tests put a recording stand-in here.
pub trait CommandRunner: Send + Sync + std::fmt::Debug {
    /// Runs `program args` (no shell) and collects its output.
    fn run(&self, program: &str, args: &[&str]) -> io::Result<CmdOutput>;
}

/// The [`CommandRunner`] that starts real processes (found through `PATH`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessRunner;

impl CommandRunner for ProcessRunner {
    fn run(&self, program: &str, args: &[&str]) -> io::Result<CmdOutput> {
        let out = std::process::Command::new(program).args(args).output()?;
        Ok(CmdOutput {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
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
        "crictl" => args.iter().any(|a| {
            matches!(
                *a,
                "info" | "version" | "images" | "ps" | "pods" | "inspecti" | "logs"
            )
        }),
        "sysctl" => !args
            .iter()
            .any(|a| a.contains('=') || *a == "-w" || *a == "-p" || *a == "--system"),
        "getent" | "uname" | "id" | "hostname" => true,
        // CRI calls (host::cri): the ones that only ask.
        "cri" => matches!(
            first,
            "Version"
                | "Status"
                | "RuntimeConfig"
                | "ImageStatus"
                | "ListImages"
                | "ListContainers"
                | "ContainerStatus"
                | "ListPodSandbox"
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_policy_decides_which_commands_run() {
        let changing: &[(&str, &[&str])] = &[
            ("sysctl", &["-w", "net.ipv4.ip_forward=1"]),
            ("sysctl", &["--system"]),
            ("modprobe", &["br_netfilter"]),
            ("swapoff", &["-a"]),
            ("apt-get", &["install", "-y", "containerd"]),
            ("dnf", &["install", "-y", "containerd"]),
            ("systemctl", &["restart", "containerd"]),
            ("systemctl", &["restart", "kubelet"]),
            ("systemctl", &["stop", "kubelet"]),
            ("systemctl", &["enable", "--now", "containerd"]),
            ("systemctl", &["daemon-reload"]),
            (
                "crictl",
                &["--runtime-endpoint", "unix:///x", "pull", "img"],
            ),
        ];
        let root = Path::new("/srv/root");
        for (p, a) in changing {
            assert_eq!(
                command_policy(Path::new("/"), false, p, a),
                CommandPolicy::Run
            );
            assert_eq!(command_policy(root, true, p, a), CommandPolicy::Skip);
            let CommandPolicy::Refuse(why) = command_policy(root, false, p, a) else {
                panic!("{p} {a:?} not refused under --root");
            };
            assert!(
                why.starts_with("--root /srv/root: kubestrap does not run `")
                    && why.ends_with("it would change this machine, not /srv/root"),
                "{why}"
            );
        }
        for (p, a) in [
            ("kubelet", &["--version"][..]),
            ("systemctl", &["is-active", "kubelet"][..]),
            ("crictl", &["--runtime-endpoint", "unix:///x", "info"][..]),
            ("sysctl", &["-n", "net.ipv4.ip_forward"][..]),
        ] {
            assert_eq!(command_policy(root, false, p, a), CommandPolicy::Run);
        }
    }
}
