//! Network namespaces for tests: a guard that deletes them, veth pairs, and commands or
//! threads moved into a namespace.

#![allow(dead_code)]

use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;

/// True when the tests run as root (network namespaces need it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Network namespaces this test created; deleted on drop, even when the test fails.
#[derive(Debug, Default)]
pub struct NetnsGuard {
    /// The namespaces' names (`ip netns` names).
    pub names: Vec<String>,
}

impl NetnsGuard {
    /// Creates the namespace `name` (with `lo` up) and remembers it for deletion.
    pub fn add(&mut self, name: &str) {
        ip(&["netns", "add", name]);
        self.names.push(name.to_string());
        ip(&["-n", name, "link", "set", "lo", "up"]);
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// True when `/var/run/netns/<name>` exists.
pub fn exists(name: &str) -> bool {
    Path::new(&format!("/var/run/netns/{name}")).exists()
}

/// Runs `ip args`; panics with its stderr when it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A veth pair `a`–`b` with `a` in namespace `ns_a` (address `addr_a`, a CIDR) and `b` in
/// `ns_b`, both up. The pair goes away with either namespace.
pub fn veth(a: &str, ns_a: &str, addr_a: &str, b: &str, ns_b: &str, addr_b: &str) {
    ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
    for (dev, ns, addr) in [(a, ns_a, addr_a), (b, ns_b, addr_b)] {
        ip(&["link", "set", dev, "netns", ns]);
        ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }
}

/// Moves the calling thread into network namespace `name`.
pub fn enter(name: &str) {
    let f = std::fs::File::open(format!("/var/run/netns/{name}")).unwrap();
    // SAFETY: setns on a valid namespace fd affects only the calling thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {name}: {}", std::io::Error::last_os_error());
}

/// Makes `cmd` start inside network namespace `name` (and die with its parent thread), the
/// way `ip netns exec` would, without a mount namespace.
pub fn command_in(cmd: &mut Command, name: &str) {
    use std::os::unix::process::CommandExt;
    let f = std::fs::File::open(format!("/var/run/netns/{name}"))
        .unwrap_or_else(|e| panic!("netns {name}: {e}"));
    let fd = f.as_raw_fd();
    // SAFETY: only async-signal-safe calls (setns, prctl) between fork and exec; `f` is kept
    // open by the closure, which owns it.
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &f;
            if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}
