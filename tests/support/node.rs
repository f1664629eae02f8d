//! A node sandbox for tests: each node is a private network, mount and UTS namespace, held by
//! one `sleep` process, in which the test's folder stands in for the node's own paths, so a
//! real containerd, kubelet and `kubestrap init` can run as on a fresh machine while this
//! machine's files, network, sysctls and cgroups stay as they were.
//!
//! Inside a node:
//! - `/etc` and `/var` are overlays on this machine's (writes land in the node's folder);
//!   `/var/lib/containerd`, `/var/lib/kubelet`, `/var/lib/etcd` are bind mounts of real folders
//!   (containerd's overlayfs snapshotter cannot live on an overlay);
//! - `/run` is a private tmpfs (containerd's fixed `/run/containerd/...` paths);
//! - the global sysctls the kubelet sets (`vm.overcommit_memory`, `kernel.panic`, ...) are
//!   files bind-mounted over their `/proc/sys` entries, holding the values the kubelet wants;
//! - the network is a veth to a bridge in a separate "switch" namespace, also the test's.
//!
//! [`Lab`]'s drop kills every process in its namespaces (by PID, found through
//! `/proc/PID/ns/mnt`), removes the cgroups its kubelets made, and [`HostSnapshot`] lets the
//! test compare this machine's links, routes, nft rules, mounts and sysctls before and after.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The kubelet's global kernel settings (`setupKernelTunables` in
/// pkg/kubelet/cm/container_manager_linux.go) and the values it wants.
pub const KUBELET_SYSCTLS: &[(&str, &str)] = &[
    ("vm/overcommit_memory", "1"),
    ("vm/panic_on_oom", "0"),
    ("kernel/panic", "10"),
    ("kernel/panic_on_oops", "1"),
    ("kernel/keys/root_maxkeys", "1000000"),
    ("kernel/keys/root_maxbytes", "25000000"),
];

/// A set of namespaces held open by a `sleep` process started with `unshare`.
#[derive(Debug)]
pub struct Ns {
    holder: Child,
    /// The holder's PID: `nsenter -t PID` enters the namespaces.
    pub pid: u32,
}

impl Ns {
    /// Starts `unshare` with `flags` running `setup` (a shell script) and then `sleep`; waits
    /// (at most 30 s) until the script has finished. Panics with the script's output on failure.
    fn start(flags: &[&str], setup: &str, dir: &Path) -> Ns {
        let ready = dir.join("ns-ready");
        let _ = fs::remove_file(&ready);
        let script = format!(
            "set -eu\n{setup}\ntouch '{}'\nexec sleep 86400\n",
            ready.display()
        );
        let log = fs::File::create(dir.join("ns-setup.log")).unwrap();
        let mut holder = Command::new("unshare")
            .args(flags)
            .args(["--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("unshare (util-linux) is needed");
        let pid = holder.id();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready.exists() {
            if let Ok(Some(st)) = holder.try_wait() {
                panic!(
                    "namespace setup failed ({st}): {}",
                    fs::read_to_string(dir.join("ns-setup.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "namespace setup took over 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        // `unshare` forks only with --pid; without it the holder is the shell, then `sleep`.
        Ns { holder, pid }
    }

    /// A command that runs `program` inside these namespaces (`nsenter -t PID -a`-like, with
    /// only the namespaces this set has).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, spaces: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t").arg(self.pid.to_string());
        c.args(spaces);
        c.arg("--").arg(program);
        c
    }

    /// The inode of one of the holder's namespaces (`mnt`, `net`, `uts`).
    pub fn ns_id(&self, kind: &str) -> Option<PathBuf> {
        fs::read_link(format!("/proc/{}/ns/{kind}", self.pid)).ok()
    }
}

/// Runs a command and panics with its output when it fails; returns stdout.
pub fn check(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One node: namespaces, its folder, and the containerd and kubelet it runs.
#[derive(Debug)]
pub struct Node {
    /// Host name and Node name.
    pub name: String,
    /// Its address on the lab's bridge.
    pub ip: String,
    /// The node's folder (overlay upper layers, bind-mount sources, logs).
    pub dir: PathBuf,
    /// The namespaces.
    pub ns: Ns,
    /// The cgroup (under every v1 hierarchy) that holds this node's pods.
    pub cgroup_root: String,
    containerd: Option<Child>,
    kubelet: Option<KubeletSupervisor>,
}

const NODE_NS: &[&str] = &["-m", "-u", "-n"];

impl Node {
    /// A command running `program` inside the node (mount, UTS and network namespaces).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.ns.command(program, NODE_NS)
    }

    /// A path of the node's own file system, seen from this machine (`/proc/PID/root`).
    pub fn path(&self, inside: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{inside}", self.ns.pid))
    }

    /// Writes containerd's configuration (/etc/containerd/config.toml inside the node, the
    /// notes' settings: `restrict_oom_score_adj`, cgroupfs, CNI from Debian's plugins) and
    /// starts containerd; waits (at most 60 s) for its socket.
    pub fn start_containerd(&mut self, sandbox_image: &str) {
        let cfg = format!(
            r#"version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
"#
        );
        fs::create_dir_all(self.path("/etc/containerd")).unwrap();
        fs::write(self.path("/etc/containerd/config.toml"), cfg).unwrap();
        let log = fs::File::create(self.dir.join("containerd.log")).unwrap();
        let child = self
            .command("containerd")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd (Debian's containerd package) is needed");
        self.containerd = Some(child);
        let sock = self.path("/run/containerd/containerd.sock");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !sock.exists() {
            assert!(
                Instant::now() < deadline,
                "containerd did not open its socket within 60 s: {}",
                fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Imports OCI image tarballs into containerd's `k8s.io` namespace (`ctr images import`).
    pub fn import_images(&self, tars: &[PathBuf]) {
        for t in tars {
            check(
                self.command("ctr")
                    .args(["-a", "/run/containerd/containerd.sock", "-n", "k8s.io"])
                    .args(["images", "import", "--no-unpack"])
                    .arg(t),
            );
        }
    }

    /// Starts the kubelet as systemd would run kubeadm's unit and drop-in
    /// (10-kubeadm.conf): `kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS
    /// $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS`, with /var/lib/kubelet/kubeadm-flags.env read
    /// at each start, restarted 1 s after it exits (the unit's `Restart=always`), and not started
    /// while /var/lib/kubelet/config.yaml is missing (the unit's crash loop before init).
    /// `extra_args` plays /etc/default/kubelet's KUBELET_EXTRA_ARGS.
    pub fn start_kubelet(&mut self, kubelet: &Path, extra_args: &[String]) {
        assert!(self.kubelet.is_none(), "the kubelet already runs");
        let stop = Arc::new(AtomicBool::new(false));
        let current = Arc::new(Mutex::new(None::<Child>));
        let starts = Arc::new(Mutex::new(0u32));
        let (stop2, current2, starts2) = (stop.clone(), current.clone(), starts.clone());
        let pid = self.ns.pid;
        let dir = self.dir.clone();
        let kubelet = kubelet.to_path_buf();
        let extra: Vec<String> = extra_args.to_vec();
        let thread = std::thread::spawn(move || {
            // Bounded: at most 200 starts and a day of wall time.
            let deadline = Instant::now() + Duration::from_secs(86400);
            let root = PathBuf::from(format!("/proc/{pid}/root"));
            for _ in 0..200 {
                if stop2.load(Ordering::SeqCst) || Instant::now() > deadline {
                    return;
                }
                if !root.join("var/lib/kubelet/config.yaml").exists() {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                let env = fs::read_to_string(root.join("var/lib/kubelet/kubeadm-flags.env"))
                    .unwrap_or_default();
                let mut args = vec![
                    "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf".to_string(),
                    "--kubeconfig=/etc/kubernetes/kubelet.conf".to_string(),
                    "--config=/var/lib/kubelet/config.yaml".to_string(),
                ];
                args.extend(kubeadm_args(&env));
                args.extend(extra.iter().cloned());
                let n = {
                    let mut s = starts2.lock().unwrap();
                    *s += 1;
                    *s
                };
                let log = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("kubelet.log"))
                    .unwrap();
                use std::io::Write;
                let _ = writeln!(&log, "---- kubestrap test: kubelet start {n}: {args:?}");
                let child = Command::new("nsenter")
                    .arg("-t")
                    .arg(pid.to_string())
                    .args(NODE_NS)
                    .arg("--")
                    .arg(&kubelet)
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn();
                let Ok(child) = child else { return };
                *current2.lock().unwrap() = Some(child);
                loop {
                    if stop2.load(Ordering::SeqCst) {
                        return;
                    }
                    let done = current2
                        .lock()
                        .unwrap()
                        .as_mut()
                        .map(|c| !matches!(c.try_wait(), Ok(None)))
                        .unwrap_or(true);
                    if done {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        self.kubelet = Some(KubeletSupervisor {
            stop,
            current,
            starts,
            thread: Some(thread),
        });
    }

    /// The last `n` lines of a log in the node's folder (`kubelet.log`, `containerd.log`).
    pub fn log_tail(&self, file: &str, n: usize) -> String {
        let text = fs::read_to_string(self.dir.join(file)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Writes the test's pod network add-on: a bridge + host-local + portmap + loopback CNI
    /// configuration for `pod_cidr` (the Node's `spec.podCIDR`), as a network add-on would.
    pub fn write_cni(&self, pod_cidr: &str) {
        let conf = format!(
            r#"{{
  "cniVersion": "0.4.0",
  "name": "kubestrap-test",
  "plugins": [
    {{"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {{"type": "host-local", "ranges": [[{{"subnet": "{pod_cidr}"}}]],
                "routes": [{{"dst": "0.0.0.0/0"}}]}}}},
    {{"type": "portmap", "capabilities": {{"portMappings": true}}}},
    {{"type": "loopback"}}
  ]
}}
"#
        );
        fs::create_dir_all(self.path("/etc/cni/net.d")).unwrap();
        fs::write(self.path("/etc/cni/net.d/10-kubestrap-test.conflist"), conf).unwrap();
    }

    fn stop_kubelet(&mut self) {
        if let Some(mut k) = self.kubelet.take() {
            k.stop.store(true, Ordering::SeqCst);
            if let Some(c) = k.current.lock().unwrap().as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
            if let Some(t) = k.thread.take() {
                let _ = t.join();
            }
        }
    }
}

#[derive(Debug)]
struct KubeletSupervisor {
    stop: Arc<AtomicBool>,
    current: Arc<Mutex<Option<Child>>>,
    starts: Arc<Mutex<u32>>,
    thread: Option<JoinHandle<()>>,
}

/// The words of `KUBELET_KUBEADM_ARGS="..."` in a kubeadm-flags.env.
pub fn kubeadm_args(env: &str) -> Vec<String> {
    env.lines()
        .filter_map(|l| l.trim().strip_prefix("KUBELET_KUBEADM_ARGS="))
        .flat_map(|v| {
            v.trim_matches('"')
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A lab: a switch namespace with a bridge, and nodes attached to it.
#[derive(Debug)]
pub struct Lab {
    /// The lab's folder (removed on drop).
    pub dir: PathBuf,
    /// A name unique to this run, used in cgroup names.
    pub id: String,
    switch: Ns,
    /// The nodes, in the order they were added.
    pub nodes: Vec<Node>,
}

/// The bridge's address and prefix; nodes get .11, .12, ...
pub const LAB_NET: &str = "10.77.0";

impl Lab {
    /// A lab in a new folder under `parent`, with its switch namespace.
    pub fn new(parent: &Path) -> Lab {
        static LABS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let id = format!(
            "kstest{}-{}",
            std::process::id(),
            LABS.fetch_add(1, Ordering::SeqCst)
        );
        let dir = parent.join(&id);
        fs::create_dir_all(dir.join("switch")).unwrap();
        let switch = Ns::start(
            &["--net", "--mount", "--propagation", "private"],
            &format!(
                "ip link set lo up\nip link add br0 type bridge\nip addr add {LAB_NET}.1/24 dev br0\nip link set br0 up"
            ),
            &dir.join("switch"),
        );
        Lab {
            dir,
            id,
            switch,
            nodes: Vec::new(),
        }
    }

    /// Adds a node named `name` at the next address, attached to the bridge, with a default
    /// route through the bridge's address. Returns its index.
    pub fn add_node(&mut self, name: &str) -> usize {
        let idx = self.nodes.len();
        let ip = format!("{LAB_NET}.{}", 11 + idx);
        let dir = self.dir.join(name);
        for d in [
            "etc.up",
            "etc.wk",
            "var.up",
            "var.wk",
            "containerd",
            "kubelet",
            "etcd",
            "sysctl",
        ] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        let mut setup = String::new();
        let d = dir.display();
        setup.push_str(&format!(
            "hostname {name}\nip link set lo up\nmount --make-rprivate /\n\
             mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/etc.up,workdir={d}/etc.wk /etc\n\
             mount -t overlay overlay -o lowerdir=/var,upperdir={d}/var.up,workdir={d}/var.wk /var\n\
             mkdir -p /var/lib/containerd /var/lib/kubelet /var/lib/etcd\n\
             mount --bind {d}/containerd /var/lib/containerd\n\
             mount --bind {d}/kubelet /var/lib/kubelet\n\
             mount --bind {d}/etcd /var/lib/etcd\n\
             mount -t tmpfs -o mode=755 tmpfs /run\n\
             mkdir -p /run/containerd /run/netns\n\
             rm -f /etc/resolv.conf /etc/hostname\n\
             echo 'nameserver {LAB_NET}.1' > /etc/resolv.conf\n\
             echo {name} > /etc/hostname\n\
             printf '127.0.0.1 localhost\\n{ip} {name}\\n' > /etc/hosts\n\
             sysctl -qw net.ipv4.ip_forward=1\n"
        ));
        for (key, value) in KUBELET_SYSCTLS {
            let file = format!("{d}/sysctl/{}", key.replace('/', "."));
            setup.push_str(&format!(
                "echo {value} > {file}\nmount --bind {file} /proc/sys/{key}\n"
            ));
        }
        setup.push_str("mount --make-rshared /\n");
        let ns = Ns::start(
            &["--net", "--mount", "--uts", "--propagation", "private"],
            &setup,
            &dir,
        );
        // The veth: one end into the node as eth0, the other onto the switch's bridge.
        let peer = format!("veth{idx}");
        check(
            self.switch
                .command("ip", &["-n"])
                .args(["link", "add", &peer, "type", "veth", "peer", "name", "eth0"])
                .args(["netns", &ns.pid.to_string()]),
        );
        check(
            self.switch
                .command("ip", &["-n"])
                .args(["link", "set", &peer, "master", "br0", "up"]),
        );
        let node = Node {
            name: name.to_string(),
            ip: ip.clone(),
            dir,
            ns,
            cgroup_root: format!("/{}-{name}", self.id),
            containerd: None,
            kubelet: None,
        };
        check(
            node.command("ip")
                .args(["addr", "add", &format!("{ip}/24"), "dev", "eth0"]),
        );
        check(node.command("ip").args(["link", "set", "eth0", "up"]));
        check(
            node.command("ip")
                .args(["route", "add", "default", "via", &format!("{LAB_NET}.1")]),
        );
        self.nodes.push(node);
        idx
    }

    /// Routes each node's pod CIDR through that node's address on every other node (the
    /// routing part of the test's pod network add-on).
    pub fn route_pod_cidrs(&self, cidrs: &[(usize, String)]) {
        for (i, cidr) in cidrs {
            for (j, other) in self.nodes.iter().enumerate() {
                if j != *i {
                    let _ = other
                        .command("ip")
                        .args(["route", "replace", cidr, "via", &self.nodes[*i].ip])
                        .output();
                }
            }
        }
    }

    /// Kills every process in the lab's namespaces (kubelets and containerd first), then the
    /// holders; removes the cgroups the kubelets and runc made. Also run by drop.
    pub fn teardown(&mut self) {
        for n in &mut self.nodes {
            n.stop_kubelet();
            if let Some(c) = n.containerd.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let mut spaces: Vec<PathBuf> = Vec::new();
        for n in &self.nodes {
            spaces.extend(n.ns.ns_id("mnt"));
            spaces.extend(n.ns.ns_id("net"));
        }
        spaces.extend(self.switch.ns_id("net"));
        // Containers and shims (re-parented away from containerd) still sit in the nodes'
        // namespaces: find them through /proc and kill them; bounded rounds.
        let roots: Vec<String> = self.nodes.iter().map(|n| n.cgroup_root.clone()).collect();
        for _ in 0..50 {
            let mut pids = pids_in(&spaces, &self.holder_pids());
            // Pods with their own network and mount namespaces (pause, CoreDNS, workloads)
            // are found through the cgroups the node's kubelet put them in.
            for r in &roots {
                pids.extend(pids_in_cgroup(r));
            }
            if pids.is_empty() {
                break;
            }
            for p in pids {
                // SAFETY: kill(2) on a PID found in this lab's own namespaces.
                unsafe { libc::kill(p as i32, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for n in &mut self.nodes {
            let _ = n.ns.holder.kill();
            let _ = n.ns.holder.wait();
        }
        let _ = self.switch.holder.kill();
        let _ = self.switch.holder.wait();
        for n in &self.nodes {
            remove_cgroups(&n.cgroup_root);
        }
        // The old kubepods tree if a kubelet ever ran without --cgroup-root is not ours to
        // remove; every node here has one.
    }

    fn holder_pids(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.nodes.iter().map(|n| n.ns.pid).collect();
        v.push(self.switch.pid);
        v
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.teardown();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// PIDs (other than `except`) whose mount or network namespace is one of `spaces`.
pub fn pids_in(spaces: &[PathBuf], except: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if except.contains(&pid) {
            continue;
        }
        for kind in ["mnt", "net"] {
            if let Ok(l) = fs::read_link(format!("/proc/{pid}/ns/{kind}"))
                && spaces.contains(&l)
            {
                out.push(pid);
                break;
            }
        }
    }
    out
}

/// Every PID in the cgroup `root` or below it (read from the `pids` hierarchy, or `memory`
/// when there is none).
pub fn pids_in_cgroup(root: &str) -> Vec<u32> {
    let base = ["pids", "memory", "unified"]
        .iter()
        .map(|h| {
            Path::new("/sys/fs/cgroup")
                .join(h)
                .join(root.trim_start_matches('/'))
        })
        .find(|p| p.is_dir());
    let Some(base) = base else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    collect_dirs(&base, &mut dirs);
    dirs.iter()
        .filter_map(|d| fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| l.trim().parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Removes the cgroup `root` (and everything under it) from every cgroup v1 hierarchy and the
/// unified one, deepest first; bounded retries while the kernel releases exited tasks.
pub fn remove_cgroups(root: &str) {
    let Ok(rd) = fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for h in rd.flatten() {
        let top = h.path().join(root.trim_start_matches('/'));
        if !top.is_dir() {
            continue;
        }
        for _ in 0..50 {
            let mut dirs = Vec::new();
            collect_dirs(&top, &mut dirs);
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for d in &dirs {
                let _ = fs::remove_dir(d);
            }
            if !top.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                collect_dirs(&e.path(), out);
            }
        }
    }
}

/// What this machine's root namespaces look like: links, addresses, routes, nft rules, the
/// mount table, the kubelet's sysctls and IP forwarding. Equal before and after a lab.
#[derive(Debug, PartialEq, Eq)]
pub struct HostSnapshot {
    /// (what, text) pairs.
    pub parts: Vec<(String, String)>,
}

impl HostSnapshot {
    /// Takes the snapshot (from this process, which stays in the root namespaces).
    pub fn take() -> HostSnapshot {
        let mut parts = Vec::new();
        let mut cmd = |what: &str, program: &str, args: &[&str]| {
            let text = Command::new(program)
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_else(|e| format!("cannot run {program}: {e}"));
            parts.push((what.to_string(), text));
        };
        cmd("links", "ip", &["-o", "link", "show"]);
        cmd("addresses", "ip", &["-o", "addr", "show"]);
        cmd("routes", "ip", &["route", "show", "table", "all"]);
        cmd(
            "ipv6 routes",
            "ip",
            &["-6", "route", "show", "table", "all"],
        );
        cmd("nft rules", "nft", &["list", "ruleset"]);
        // Named network namespaces (`ip netns add`, /run/netns/*) are other tests' (a lab
        // makes none), which may come and go while this one runs.
        let mounts: String = fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .map(|l| {
                l.split_whitespace()
                    .skip(3)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|l| !l.contains("/netns/"))
            .map(|l| l + "\n")
            .collect();
        parts.push(("mounts".into(), mounts));
        let mut sysctls = String::new();
        for (key, _) in KUBELET_SYSCTLS.iter().chain(&[
            ("net/ipv4/ip_forward", ""),
            ("net/ipv4/conf/all/route_localnet", ""),
        ]) {
            let v = fs::read_to_string(format!("/proc/sys/{key}")).unwrap_or_default();
            sysctls.push_str(&format!("{key}={}\n", v.trim()));
        }
        parts.push(("sysctls".into(), sysctls));
        HostSnapshot { parts }
    }

    /// The parts that differ from `other`, as a readable report (empty when equal).
    pub fn diff(&self, other: &HostSnapshot) -> String {
        let mut out = String::new();
        for ((what, a), (_, b)) in self.parts.iter().zip(&other.parts) {
            if a != b {
                out.push_str(&format!(
                    "{what} changed:\n--- before\n{a}\n+++ after\n{b}\n"
                ));
            }
        }
        out
    }
}

/// Creates the cgroup `root` in every cgroup v1 hierarchy (the kubelet's `--cgroup-root` must
/// exist), copying cpuset's cpus and mems from the top so tasks can join it.
pub fn create_cgroups(root: &str) {
    let Ok(rd) = fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for h in rd.flatten() {
        let base = h.path();
        if !base.join("cgroup.procs").exists() {
            continue;
        }
        let dir = base.join(root.trim_start_matches('/'));
        fs::create_dir_all(&dir).unwrap();
        if base.ends_with("cpuset") {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let v = fs::read_to_string(base.join(f)).unwrap_or_default();
                let _ = fs::write(dir.join(f), v.trim());
            }
        }
    }
}
