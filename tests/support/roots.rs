//! Temporary roots and recording stand-ins for the programs kubestrap may start, shared by
//! the tests that run kubestrap against a scripted machine (tests/safety.rs, tests/runner.rs,
//! tests/secrets.rs).

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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
