//! [`RealHost`]: the machine itself, with every path mapped under a root prefix.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use super::{CmdOutput, CommandPolicy, CommandRunner, Host, HostFacts, ProcessRunner};

/// The real machine, with files under `root` (`/` unless `--root` or `--dry-run`).
/// Commands go through [`super::command_policy`]: under a root other than `/`, those that
/// would change this machine are refused.
#[derive(Debug, Clone)]
pub struct RealHost {
    root: PathBuf,
    dry_run: bool,
    /// Dry-run only: the real root reads fall back to when a path is absent under `root`.
    base: Option<PathBuf>,
    /// Starts the commands [`super::command_policy`] allows.
    runner: Arc<dyn CommandRunner>,
}

impl RealHost {
    /// A host rooted at `root`. Errors when `root` is not an existing directory.
    pub fn new(root: impl Into<PathBuf>, dry_run: bool) -> io::Result<Self> {
        let root = root.into();
        check_root(&root)?;
        Ok(RealHost {
            root,
            dry_run,
            base: None,
            runner: Arc::new(ProcessRunner),
        })
    }

    /// The same host, starting its commands through `runner` (tests record them).
    pub fn with_runner(mut self, runner: Arc<dyn CommandRunner>) -> Self {
        self.runner = runner;
        self
    }

    /// A dry-run host: every write lands under `overlay` (created when missing, mode 0700),
    /// reads look under `overlay` first and then under `base` (`/` or `--root`), and mutating
    /// commands are not run. Errors when `base` is not a directory or `overlay` cannot be made.
    pub fn dry_run_overlay(
        base: impl Into<PathBuf>,
        overlay: impl Into<PathBuf>,
    ) -> io::Result<Self> {
        let base = base.into();
        let overlay = overlay.into();
        check_root(&base)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&overlay)?;
        Ok(RealHost {
            root: overlay,
            dry_run: true,
            base: Some(base),
            runner: Arc::new(ProcessRunner),
        })
    }

    /// The path a read of `path` uses: under the root, or (dry-run) under the base root
    /// when the overlay does not have it.
    fn read_path(&self, path: &Path) -> PathBuf {
        let p = self.resolve(path);
        match &self.base {
            Some(base) if fs::symlink_metadata(&p).is_err() => {
                base.join(path.strip_prefix("/").unwrap_or(path))
            }
            _ => p,
        }
    }
}

/// Writes `data` to `target` atomically: a temporary file in the same directory is written,
/// fsynced, given `mode`, renamed over `target`, and the directory is fsynced.
/// Checks that `root` is an existing directory. Errors (naming the path once): it does not
/// exist (`NotFound`), or it exists but is not a directory (`NotADirectory`).
pub fn check_root(root: &Path) -> io::Result<()> {
    match fs::metadata(root) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is not a directory", root.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} does not exist", root.display()),
        )),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", root.display()))),
    }
}

/// A crash leaves either the old file or the new one, never a half-written file.
pub fn write_atomic(target: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let dir = target
        .parent()
        .ok_or_else(|| io::Error::other("path has no parent"))?;
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
    }
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::other("path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, target)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        remove_stale_temps(dir, &name.to_string_lossy());
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes temporary files of `name` left in `dir` by a process killed mid-write
/// (`.<name>.tmp-<pid>-<rand>` whose pid is no longer running).
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let fname = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = fname.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
        let alive = pid.is_some_and(|p| {
            p as u32 == std::process::id()
                || nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok()
        });
        if !alive {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Removes, recursively under `dir` (a path on this machine, already mapped under the
/// root), every temporary file of [`write_atomic`] whose writer process is gone, so a run
/// after a SIGKILL leaves no partial file behind. Errors are ignored (best effort).
pub fn sweep_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            sweep_stale_temps(&path);
            continue;
        }
        let fname = e.file_name().to_string_lossy().into_owned();
        if let Some((name, _)) = fname.strip_prefix('.').and_then(|n| n.split_once(".tmp-")) {
            remove_stale_temps(dir, name);
        }
    }
}

impl Host for RealHost {
    fn root(&self) -> &Path {
        &self.root
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(self.read_path(path))
    }

    fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
        write_atomic(&self.resolve(path), data, mode)
    }

    fn create_dir_all(&self, path: &Path, mode: u32) -> io::Result<()> {
        let p = self.resolve(path);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&p)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
    }

    fn exists(&self, path: &Path) -> bool {
        self.read_path(path).exists()
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        let mut dirs = vec![self.resolve(path)];
        if let Some(base) = &self.base {
            dirs.push(base.join(path.strip_prefix("/").unwrap_or(path)));
        }
        for p in dirs {
            if !p.is_dir() {
                continue;
            }
            names.extend(
                fs::read_dir(p)?
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned()),
            );
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(self.resolve(path)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn mode(&self, path: &Path) -> io::Result<u32> {
        Ok(fs::metadata(self.read_path(path))?.permissions().mode() & 0o7777)
    }

    fn run(&self, program: &str, args: &[&str]) -> io::Result<CmdOutput> {
        match super::command_policy(&self.root, self.dry_run, program, args) {
            CommandPolicy::Run => self.runner.run(program, args),
            CommandPolicy::Skip => Ok(CmdOutput {
                status: Some(0),
                stdout: String::new(),
                stderr: format!("[dryrun] would run: {program} {}", args.join(" ")),
            }),
            CommandPolicy::Refuse(why) => Err(io::Error::new(io::ErrorKind::PermissionDenied, why)),
        }
    }

    fn command_refusal(&self, program: &str, args: &[&str]) -> Option<String> {
        match super::command_policy(&self.root, self.dry_run, program, args) {
            CommandPolicy::Refuse(why) => Some(why),
            _ => None,
        }
    }

    fn which(&self, program: &str) -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(program))
            .find(|p| {
                fs::metadata(p)
                    .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                    .unwrap_or(false)
            })
    }

    fn facts(&self) -> HostFacts {
        let v4 = self
            .read(Path::new("/proc/net/route"))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let v6 = self
            .read(Path::new("/proc/net/ipv6_route"))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        super::facts::collect(v4.as_deref(), v6.as_deref())
    }

    fn port_free(&self, port: u16) -> bool {
        std::net::TcpListener::bind(("0.0.0.0", port)).is_ok()
    }

    fn dry_run(&self) -> bool {
        self.dry_run
    }
}
