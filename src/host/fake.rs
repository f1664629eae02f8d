//! [`FakeHost`]: a scripted host for tests. Files live under a temporary root (real
//! directory, atomic writes as on the real host); facts, programs in `PATH`, command
//! outputs, busy ports and environment variables are scripted; every command run is recorded.
//!
//! A few commands that preflight fixes use have simulated effects on the fake machine, so a
//! test can assert that a fix changed it: `swapoff -a` empties `/proc/swaps`; `modprobe M`
//! creates `/sys/module/M` (and the bridge sysctls for `br_netfilter`); `sysctl -w k=v` and
//! `sysctl --system` write `/proc/sys/...`; `apt-get|dnf install ... containerd` puts
//! `containerd` in `PATH` and creates its socket; `systemctl restart|enable --now containerd`
//! creates the socket too (`/var/run/containerd/containerd.sock`).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{CmdOutput, Host, HostFacts};

/// A scripted machine under a temporary root. See the module docs for simulated commands.
#[derive(Debug)]
pub struct FakeHost {
    dir: tempfile::TempDir,
    dry_run: bool,
    facts: Mutex<HostFacts>,
    programs: Mutex<BTreeSet<String>>,
    outputs: Mutex<BTreeMap<String, CmdOutput>>,
    busy_ports: Mutex<BTreeSet<u16>>,
    env: Mutex<BTreeMap<String, String>>,
    ran: Mutex<Vec<String>>,
    cri: std::sync::Arc<super::cri::ScriptedRuntime>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeHost {
    /// An empty fake machine: root user, 2 CPUs, 4096 MiB, hostname `cp1`, one interface
    /// `eth0` 192.168.1.10/24 carrying the default route, kernel `6.1.0`; nothing in PATH,
    /// no files. Errors when the temporary directory cannot be created.
    pub fn new() -> io::Result<Self> {
        let facts = HostFacts {
            hostname: "cp1".into(),
            cpus: 2,
            memory_mib: 4096,
            euid: 0,
            interfaces: vec![super::InterfaceAddr {
                interface: "eth0".into(),
                addr: "192.168.1.10".parse().map_err(io::Error::other)?,
                prefix_len: 24,
            }],
            default_route_addr: "192.168.1.10".parse().ok(),
            kernel_release: "6.1.0".into(),
        };
        Ok(FakeHost {
            dir: tempfile::tempdir()?,
            dry_run: false,
            facts: Mutex::new(facts),
            programs: Mutex::default(),
            outputs: Mutex::default(),
            busy_ports: Mutex::default(),
            env: Mutex::default(),
            cri: std::sync::Arc::default(),
            ran: Mutex::default(),
        })
    }

    /// The same host in dry-run mode (mutating commands are recorded but have no effect).
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// The scripted container runtime every CRI endpoint of this host reaches (a ready
    /// runtime with every image present until a test changes it).
    pub fn runtime(&self) -> &std::sync::Arc<super::cri::ScriptedRuntime> {
        &self.cri
    }

    /// Changes the facts.
    pub fn set_facts(&self, f: impl FnOnce(&mut HostFacts)) {
        f(&mut lock(&self.facts));
    }

    /// Puts programs in `PATH` (found at `/usr/bin/<name>`).
    pub fn add_programs(&self, names: &[&str]) {
        lock(&self.programs).extend(names.iter().map(|s| s.to_string()));
    }

    /// Removes a program from `PATH`.
    pub fn remove_program(&self, name: &str) {
        lock(&self.programs).remove(name);
    }

    /// Scripts the output of `program args...` (matched on the whole command line joined by
    /// spaces); exit status `status`.
    pub fn script(&self, cmdline: &str, status: i32, stdout: &str) {
        lock(&self.outputs).insert(
            cmdline.to_string(),
            CmdOutput {
                status: Some(status),
                stdout: stdout.to_string(),
                stderr: String::new(),
            },
        );
    }

    /// Marks a TCP port as in use.
    pub fn busy_port(&self, port: u16) {
        lock(&self.busy_ports).insert(port);
    }

    /// Sets an environment variable seen through [`Host::env`].
    pub fn set_env(&self, key: &str, value: &str) {
        lock(&self.env).insert(key.into(), value.into());
    }

    /// Writes a file (real path) under the root with mode 0644; panics never, errors returned.
    pub fn put(&self, path: &str, content: &str) -> io::Result<()> {
        self.write_atomic(Path::new(path), content.as_bytes(), 0o644)
    }

    /// Reads a file (real path) as text; `None` when absent.
    pub fn text(&self, path: &str) -> Option<String> {
        self.read(Path::new(path))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// Every command run so far, as `program arg...` lines.
    pub fn commands_run(&self) -> Vec<String> {
        lock(&self.ran).clone()
    }

    fn simulate(&self, program: &str, args: &[&str]) -> io::Result<()> {
        let first = args.first().copied().unwrap_or("");
        match program {
            "swapoff" => {
                self.put("/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n")?;
            }
            "modprobe" => {
                for m in args.iter().filter(|a| !a.starts_with('-')) {
                    self.create_dir_all(&Path::new("/sys/module").join(m), 0o755)?;
                    if *m == "br_netfilter" {
                        self.put("/proc/sys/net/bridge/bridge-nf-call-iptables", "0\n")?;
                        self.put("/proc/sys/net/bridge/bridge-nf-call-ip6tables", "0\n")?;
                    }
                }
            }
            "sysctl" => {
                let mut kvs: Vec<(String, String)> = args
                    .iter()
                    .filter_map(|a| a.split_once('='))
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .collect();
                if args.contains(&"--system") {
                    for f in self.read_dir(Path::new("/etc/sysctl.d"))? {
                        let text = self.text(&format!("/etc/sysctl.d/{f}")).unwrap_or_default();
                        for line in text.lines() {
                            if let Some((k, v)) = line.split_once('=')
                                && !line.trim_start().starts_with('#')
                            {
                                kvs.push((k.trim().to_string(), v.trim().to_string()));
                            }
                        }
                    }
                }
                for (k, v) in kvs {
                    self.put(
                        &format!("/proc/sys/{}", k.replace('.', "/")),
                        &format!("{v}\n"),
                    )?;
                }
            }
            "apt-get" | "dnf" | "yum" if first == "install" || args.contains(&"install") => {
                if args.contains(&"containerd") {
                    self.add_programs(&["containerd", "ctr"]);
                    self.put("/var/run/containerd/containerd.sock", "")?;
                }
                for a in args
                    .iter()
                    .filter(|a| !a.starts_with('-') && **a != "install")
                {
                    let bin = match *a {
                        "iproute2" => "ip",
                        "util-linux" => "nsenter",
                        other => other,
                    };
                    self.add_programs(&[bin]);
                }
            }
            "systemctl"
                if args.contains(&"containerd")
                    && (first == "restart" || first == "enable")
                    && lock(&self.programs).contains("containerd") =>
            {
                self.put("/var/run/containerd/containerd.sock", "")?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl Host for FakeHost {
    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn container_runtime(
        &self,
        _endpoint: &str,
    ) -> std::sync::Arc<dyn super::cri::ContainerRuntime> {
        self.cri.clone()
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(self.resolve(path))
    }

    fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
        super::fs::write_atomic(&self.resolve(path), data, mode)
    }

    fn create_dir_all(&self, path: &Path, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let p = self.resolve(path);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&p)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
    }

    fn exists(&self, path: &Path) -> bool {
        self.resolve(path).exists()
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let p = self.resolve(path);
        if !p.is_dir() {
            return Ok(Vec::new());
        }
        let mut names: Vec<String> = std::fs::read_dir(p)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        match std::fs::remove_file(self.resolve(path)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn mode(&self, path: &Path) -> io::Result<u32> {
        use std::os::unix::fs::PermissionsExt;
        Ok(std::fs::metadata(self.resolve(path))?.permissions().mode() & 0o7777)
    }

    fn run(&self, program: &str, args: &[&str]) -> io::Result<CmdOutput> {
        let line = std::iter::once(program)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        lock(&self.ran).push(line.clone());
        if !lock(&self.programs).contains(program) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{program}: executable file not found in $PATH"),
            ));
        }
        if self.dry_run && !super::is_read_only_command(program, args) {
            return Ok(CmdOutput {
                status: Some(0),
                ..CmdOutput::default()
            });
        }
        let scripted = lock(&self.outputs).get(&line).cloned();
        let out = scripted.unwrap_or(CmdOutput {
            status: Some(0),
            ..CmdOutput::default()
        });
        if out.success() {
            self.simulate(program, args)?;
        }
        Ok(out)
    }

    fn which(&self, program: &str) -> Option<PathBuf> {
        lock(&self.programs)
            .contains(program)
            .then(|| PathBuf::from("/usr/bin").join(program))
    }

    fn facts(&self) -> HostFacts {
        lock(&self.facts).clone()
    }

    fn port_free(&self, port: u16) -> bool {
        !lock(&self.busy_ports).contains(&port)
    }

    fn dry_run(&self) -> bool {
        self.dry_run
    }

    fn env(&self, key: &str) -> Option<String> {
        lock(&self.env).get(key).cloned()
    }
}
