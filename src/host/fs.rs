//! [`RealHost`]: the machine itself, with every path mapped under a root prefix.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use super::{
    CmdOutput, CommandPolicy, CommandRunner, FileWrite, Host, HostFacts, ProcessRunner,
    WriteAllError,
};

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
    /// Whether writes are synced to disk (false for a [`RealHost::scratch`] host).
    sync: bool,
    /// A private directory removed when the run ends (see [`RealHost::scratch`]).
    scratch: bool,
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
            sync: true,
            scratch: false,
        })
    }

    /// The same host, starting its commands through `runner` (tests record them).
    pub fn with_runner(mut self, runner: Arc<dyn CommandRunner>) -> Self {
        self.runner = runner;
        self
    }

    /// The same host as a scratch directory: a private dry-run directory that is removed when
    /// the run ends and that no other run reads. Files are still written atomically
    /// (temporary file, rename: a reader never sees a torn file) but not synced to disk, a
    /// group of files needs no commit record and no stale temporary files are swept, since
    /// neither a power loss nor a crash leaves anything a later run would use; the engine
    /// keeps no progress record there ([`Host::is_scratch`]).
    pub fn scratch(mut self) -> Self {
        self.sync = false;
        self.scratch = true;
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
            sync: true,
            scratch: false,
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

/// Writes `data` to `target` atomically: a temporary file in the same directory is written,
/// given `mode`, fsynced, renamed over `target`, and the directory is fsynced.
/// A crash leaves either the old file or the new one, never a half-written file.
pub fn write_atomic(target: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_with(target, data, mode, true, false)
}

/// [`write_atomic`], syncing only when `sync`; stale temporary files of `target` are swept
/// unless `scratch`.
fn write_atomic_with(
    target: &Path,
    data: &[u8],
    mode: u32,
    sync: bool,
    scratch: bool,
) -> io::Result<()> {
    let tmp = write_temp(target, data, mode)?;
    let result = (|| {
        if sync {
            fs::File::open(&tmp)?.sync_all()?;
        }
        fs::rename(&tmp, target)?;
        let dir = parent(target)?;
        if sync && let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        if !scratch {
            remove_stale_temps(dir, &file_name(target)?);
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn parent(target: &Path) -> io::Result<&Path> {
    target
        .parent()
        .ok_or_else(|| io::Error::other("path has no parent"))
}

fn file_name(target: &Path) -> io::Result<String> {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::other("path has no file name"))
}

/// Writes `data` to a new temporary file beside `target` (`.<name>.tmp-<pid>-<rand>`, mode
/// `mode`, parent directories created with 0755) without syncing it; returns its path.
fn write_temp(target: &Path, data: &[u8], mode: u32) -> io::Result<PathBuf> {
    let dir = parent(target)?;
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
    }
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name(target)?,
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
        f.set_permissions(fs::Permissions::from_mode(mode))
    })();
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Test hook for the crash tests: `KUBESTRAP_TEST_KILL_AT=<part of a path>@<stage>` makes
/// the process SIGKILL itself in [`write_atomic_all`] when the file whose path contains that
/// part reaches `stage`: `temp` (its temporary file is written, nothing synced), `synced`
/// (every temporary file of its group is synced and the group committed, none renamed) or
/// `renamed` (it is in place, the rest of its group not yet).
pub const KILL_AT_ENV: &str = "KUBESTRAP_TEST_KILL_AT";

fn kill_point(kill_at: &Option<(String, String)>, path: &Path, stage: &str) {
    if let Some((part, at)) = kill_at
        && at == stage
        && path.to_string_lossy().contains(part.as_str())
    {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// The commit record of a group write (`.kubestrap-commit.tmp-<pid>-<rand>` beside the
/// first file): one `<temporary>\t<target>` line per file and a last line `commit`. Once it
/// is on disk the group is committed: a run that finds it after a crash renames the rest.
const JOURNAL_NAME: &str = "kubestrap-commit";
const JOURNAL_END: &str = "commit";

/// [`write_atomic`] for a group of files (real paths, in order), syncing once: every
/// temporary file is written, they are fsynced together (one thread each), a commit record
/// naming them is written and synced, then they are renamed in order, each directory is
/// synced once and the record removed. A crash before the record is durable leaves every
/// target old (the temporary files are swept by [`sweep_stale_temps`]); after it, the next
/// [`sweep_stale_temps`] renames what is left, so the group is all old or all new, and no
/// file is ever torn.
pub fn write_atomic_all(files: &[(PathBuf, &[u8], u32)]) -> Result<(), WriteAllError> {
    write_atomic_all_with(files, true)
}

/// [`write_atomic_all`], syncing only when `sync` (the commit record still makes the group
/// all old or all new after a SIGKILL).
fn write_atomic_all_with(files: &[(PathBuf, &[u8], u32)], sync: bool) -> Result<(), WriteAllError> {
    let kill_at = std::env::var(KILL_AT_ENV).ok().and_then(|v| {
        v.rsplit_once('@')
            .map(|(p, s)| (p.to_string(), s.to_string()))
    });
    let err = |failed: usize, written: usize| {
        move |source: io::Error| WriteAllError {
            failed,
            written,
            source,
        }
    };
    let Some((first, _, _)) = files.first() else {
        return Ok(());
    };
    let mut temps: Vec<PathBuf> = Vec::with_capacity(files.len());
    let cleanup = |temps: &[PathBuf]| {
        for t in temps {
            let _ = fs::remove_file(t);
        }
    };
    for (i, (target, data, mode)) in files.iter().enumerate() {
        match write_temp(target, data, *mode) {
            Ok(t) => temps.push(t),
            Err(e) => {
                cleanup(&temps);
                return Err(err(i, 0)(e));
            }
        }
        kill_point(&kill_at, target, "temp");
    }
    let mut dirs: Vec<&Path> = Vec::new();
    for (target, _, _) in files {
        let d = parent(target).map_err(err(0, 0))?;
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    // The temporary files are made durable together: one fsync each, on parallel threads
    // (syncfs(2) would also flush every other process's dirty data on the filesystem, which
    // on a busy machine costs far more than our few files).
    let committed = (|| {
        if sync {
            let synced: Vec<io::Result<()>> = std::thread::scope(|s| {
                let handles: Vec<_> = temps
                    .iter()
                    .map(|t| s.spawn(move || fs::File::open(t)?.sync_all()))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(io::Error::other("fsync thread panicked")))
                    })
                    .collect()
            });
            synced.into_iter().collect::<io::Result<()>>()?;
        }
        if files.len() == 1 {
            // One rename is atomic by itself: no record needed.
            return Ok(None);
        }
        let mut record = String::new();
        for ((target, _, _), tmp) in files.iter().zip(&temps) {
            record.push_str(&format!("{}\t{}\n", tmp.display(), target.display()));
        }
        record.push_str(JOURNAL_END);
        record.push('\n');
        let journal = parent(first)?.join(format!(
            ".{JOURNAL_NAME}.tmp-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&journal)?;
        f.write_all(record.as_bytes())?;
        if sync {
            f.sync_all()?;
        }
        Ok::<_, io::Error>(Some(journal))
    })();
    let journal = match committed {
        Ok(j) => j,
        Err(e) => {
            cleanup(&temps);
            return Err(err(0, 0)(e));
        }
    };
    for (target, _, _) in files {
        kill_point(&kill_at, target, "synced");
    }
    for (i, ((target, _, _), tmp)) in files.iter().zip(&temps).enumerate() {
        if let Err(e) = fs::rename(tmp, target) {
            cleanup(&temps[i..]);
            if let Some(j) = &journal {
                let _ = fs::remove_file(j);
            }
            return Err(err(i, i)(e));
        }
        kill_point(&kill_at, target, "renamed");
    }
    for d in dirs.iter().filter(|_| sync) {
        if let Ok(f) = fs::File::open(d) {
            let _ = f.sync_all();
        }
    }
    if let Some(j) = &journal {
        let _ = fs::remove_file(j);
    }
    for (target, _, _) in files {
        if let (Ok(dir), Ok(name)) = (parent(target), file_name(target)) {
            remove_stale_temps(dir, &name);
        }
    }
    Ok(())
}

/// Finishes the group writes a killed process committed (see [`write_atomic_all`]) under
/// `dir`, recursively: renames the temporary files its commit record names that are still
/// there, syncs their directories and removes the record. A record without its last line
/// was never committed: it is removed and its temporary files are left to the sweep.
fn roll_forward(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{JOURNAL_NAME}.tmp-");
    for e in entries.filter_map(|e| e.ok()) {
        let path = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            roll_forward(&path);
            continue;
        }
        let fname = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = fname.strip_prefix(&prefix) else {
            continue;
        };
        if writer_alive(rest) {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap_or_default();
        let mut lines: Vec<&str> = text.lines().collect();
        if lines.pop() == Some(JOURNAL_END) {
            let mut dirs: Vec<PathBuf> = Vec::new();
            for l in lines {
                let Some((tmp, target)) = l.split_once('\t') else {
                    continue;
                };
                let (tmp, target) = (Path::new(tmp), Path::new(target));
                if tmp.exists() && fs::rename(tmp, target).is_ok() {
                    let d = target.parent().map(Path::to_path_buf);
                    if let Some(d) = d.filter(|d| !dirs.contains(d)) {
                        dirs.push(d);
                    }
                }
            }
            for d in &dirs {
                if let Ok(f) = fs::File::open(d) {
                    let _ = f.sync_all();
                }
            }
        }
        let _ = fs::remove_file(&path);
    }
}

/// True when the `<pid>-<rand>` tail of a temporary name belongs to a running process.
fn writer_alive(tail: &str) -> bool {
    let pid = tail.split('-').next().and_then(|p| p.parse::<i32>().ok());
    pid.is_some_and(|p| {
        p as u32 == std::process::id()
            || nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok()
    })
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
        if !writer_alive(rest) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Recovers, recursively under `dir` (a path on this machine, already mapped under the
/// root), from writers killed mid-write: first finishes the committed group writes of
/// [`write_atomic_all`], then removes every temporary file whose writer process is gone, so
/// a run after a SIGKILL leaves no partial file behind. Errors are ignored (best effort).
pub fn sweep_stale_temps(dir: &Path) {
    roll_forward(dir);
    sweep_temps(dir);
}

fn sweep_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            sweep_temps(&path);
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
        write_atomic_with(&self.resolve(path), data, mode, self.sync, self.scratch)
    }

    fn write_atomic_unsynced(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
        write_atomic_with(&self.resolve(path), data, mode, false, self.scratch)
    }

    fn write_atomic_all(&self, files: &[FileWrite<'_>]) -> Result<(), WriteAllError> {
        let resolved: Vec<(PathBuf, &[u8], u32)> = files
            .iter()
            .map(|f| (self.resolve(f.path), f.data, f.mode))
            .collect();
        if self.scratch {
            // Nothing in a scratch directory outlives the run: no commit record needed.
            for (i, (target, data, mode)) in resolved.iter().enumerate() {
                write_atomic_with(target, data, *mode, false, true).map_err(|source| {
                    WriteAllError {
                        failed: i,
                        written: i,
                        source,
                    }
                })?;
            }
            return Ok(());
        }
        write_atomic_all_with(&resolved, self.sync)
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

    fn is_scratch(&self) -> bool {
        self.scratch
    }
}
