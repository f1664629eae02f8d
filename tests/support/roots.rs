//! Temporary roots, the scripted machine of a ready node, and recording stand-ins for the
//! programs kubestrap may start, shared by the tests that run kubestrap against a scripted
//! machine (tests/safety.rs, tests/runner.rs, tests/secrets.rs, tests/join.rs,
//! tests/engine.rs).

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use kubestrap::host::Host;

/// Every program kubestrap may start on a node, for PATHs of recording stubs.
pub const HOST_PROGRAMS: &[&str] = &[
    "sysctl",
    "modprobe",
    "swapoff",
    "apt-get",
    "dnf",
    "yum",
    "systemctl",
    "crictl",
    "kubelet",
    "containerd",
    "getent",
    "uname",
    "id",
    "hostname",
    "losetup",
    "mount",
    "cp",
    "iptables",
    "ip",
    "nsenter",
    "conntrack",
    "ctr",
];

/// Writes `data` at the machine path `real` under `root`, creating folders.
pub fn put(root: &Path, real: &str, data: &str) {
    let p = root.join(real.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

/// The files of a machine ready for the node checks init and join share: the containerd
/// socket, the cgroup v2 controllers, IPv4 forwarding on, swap off.
pub const READY_NODE_FILES: &[(&str, &str)] = &[
    ("/var/run/containerd/containerd.sock", ""),
    (
        "/sys/fs/cgroup/cgroup.controllers",
        "cpuset cpu io memory hugetlb pids rdma misc\n",
    ),
    ("/proc/sys/net/ipv4/ip_forward", "1\n"),
    ("/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n"),
];

/// The kernel modules a ready node has loaded (`/sys/module/<name>`).
pub const READY_NODE_MODULES: &[&str] = &["overlay", "br_netfilter"];

/// Makes `root` a machine ready for the node checks ([`READY_NODE_FILES`], the modules).
pub fn ready_node(root: &Path) {
    for (real, data) in READY_NODE_FILES {
        put(root, real, data);
    }
    for m in READY_NODE_MODULES {
        std::fs::create_dir_all(root.join("sys/module").join(m)).unwrap();
    }
}

/// [`ready_node`] with systemd running (`/run/systemd/system`).
pub fn ready_systemd_node(root: &Path) {
    ready_node(root);
    std::fs::create_dir_all(root.join("run/systemd/system")).unwrap();
}

/// A scripted machine on which the node checks init and join share pass for `node`, with
/// systemd, a kubelet of `kubelet_version` (`v1.37.2`) and the commands those checks ask for.
pub fn ready_fake_host(node: &str, kubelet_version: &str) -> kubestrap::host::FakeHost {
    let h = kubestrap::host::FakeHost::new().unwrap();
    h.add_programs(&["losetup", "mount", "cp", "kubelet", "systemctl", "getent"]);
    h.script(
        "kubelet --version",
        0,
        &format!("Kubernetes {kubelet_version}\n"),
    );
    h.script(
        &format!("getent hosts {node}"),
        0,
        &format!("192.168.1.10 {node}\n"),
    );
    h.script("systemctl is-enabled kubelet.service", 0, "enabled\n");
    h.create_dir_all(Path::new("/run/systemd/system"), 0o755)
        .unwrap();
    for (real, data) in READY_NODE_FILES {
        h.put(real, data).unwrap();
    }
    for m in READY_NODE_MODULES {
        h.create_dir_all(&Path::new("/sys/module").join(m), 0o755)
            .unwrap();
    }
    h
}

/// A root that fails every fixable check: swap on (and in fstab), forwarding off, no kernel
/// modules, containerd's cgroup driver wrong, no runtime socket; cgroup v2; systemd runs.
pub fn broken_root(root: &Path) {
    put(
        root,
        "/proc/swaps",
        "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n",
    );
    put(root, "/etc/fstab", "/swapfile none swap sw 0 0\n");
    put(root, "/proc/sys/net/ipv4/ip_forward", "0\n");
    put(
        root,
        "/etc/containerd/config.toml",
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n",
    );
    put(
        root,
        "/sys/fs/cgroup/cgroup.controllers",
        "cpuset cpu io memory pids\n",
    );
    std::fs::create_dir_all(root.join("run/systemd/system")).unwrap();
}

/// Writes a stub for each of [`HOST_PROGRAMS`] into `dir`: it appends `name args...` to
/// `record` and exits 0; `kubelet` also prints `Kubernetes <kubelet_version>` when given.
pub fn recording_stubs(dir: &Path, record: &Path, kubelet_version: Option<&str>) {
    std::fs::create_dir_all(dir).unwrap();
    for s in HOST_PROGRAMS {
        let p = dir.join(s);
        let extra = match (*s, kubelet_version) {
            ("kubelet", Some(v)) => format!("echo 'Kubernetes {v}'\n"),
            _ => String::new(),
        };
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho \"{s} $*\" >> '{}'\n{extra}exit 0\n",
                record.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// What [`sigterm_when`] saw: the exit code (`None` when a signal ended the process), the
/// standard output and error.
pub struct Terminated {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs kubestrap with `args` and the environment `env` (stdout and stderr to files in
/// `dir`), sends it SIGTERM once its standard output contains `ready` (within 60 s), and
/// waits (at most 60 s) for it to end. Panics when it does not get there or does not end.
pub fn sigterm_when(args: &[&str], env: &[(&str, &Path)], dir: &Path, ready: &str) -> Terminated {
    use std::time::{Duration, Instant};
    let out = dir.join("sigterm-stdout");
    let err = dir.join("sigterm-stderr");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kubestrap"));
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !read(&out).contains(ready) {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "never reached {ready:?}:\n{}\nstderr:\n{}",
                read(&out),
                read(&err)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("did not end within 60 s of SIGTERM:\n{}", read(&err));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Terminated {
        code: status.code(),
        stdout: read(&out),
        stderr: read(&err),
    }
}
