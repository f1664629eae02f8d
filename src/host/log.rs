//! The run log: one new file per run, readable by its owner only, in a directory only its
//! owner can read. The caller writes [`crate::engine::Event::redacted`] events into it.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Environment variable naming the directory for run logs (instead of the default).
pub const LOG_DIR_ENV: &str = "KUBESTRAP_LOG_DIR";

/// Where run logs go: `$KUBESTRAP_LOG_DIR` when set; for a dry run, which must leave the
/// system alone, the user's state directory (`$XDG_STATE_HOME/kubestrap`, else
/// `$HOME/.local/state/kubestrap`); else `/var/log/kubestrap` under the host's root (so
/// `--root DIR` keeps it in `DIR/var/log/kubestrap`). `env` reads environment variables.
pub fn log_dir(root: &Path, dry_run: bool, env: impl Fn(&str) -> Option<String>) -> PathBuf {
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(d) = set(LOG_DIR_ENV) {
        return PathBuf::from(d);
    }
    if dry_run {
        if let Some(d) = set("XDG_STATE_HOME") {
            return Path::new(&d).join("kubestrap");
        }
        if let Some(h) = set("HOME") {
            return Path::new(&h).join(".local/state/kubestrap");
        }
    }
    root.join("var/log/kubestrap")
}

/// Creates a new log file `kubestrap-<kind>-<unix seconds>-<pid>.log` in `dir`. The
/// directory is created with mode 0700 when missing; an existing one must be a real
/// directory (not a symlink) owned by this user, and is set to 0700. The file is created
/// with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, so a file or symlink planted at its path
/// is never followed or appended to. Errors name the path and what is wrong.
pub fn create_run_log(dir: &Path, kind: &str) -> io::Result<(PathBuf, fs::File)> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(named)?;
        }
        Err(e) => return Err(named(e)),
        Ok(m) if m.file_type().is_symlink() || !m.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a directory (a symlink or a file); refusing to write the log there",
                    dir.display()
                ),
            ));
        }
        Ok(m) if m.uid() != nix::unistd::geteuid().as_raw() => {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} belongs to another user (uid {}); refusing to write the log there",
                    dir.display(),
                    m.uid()
                ),
            ));
        }
        Ok(_) => {}
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(named)?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let base = format!("kubestrap-{kind}-{secs}-{}", std::process::id());
    let mut last = None;
    for n in 0..20u32 {
        let name = if n == 0 {
            format!("{base}.log")
        } else {
            format!("{base}-{n}.log")
        };
        let path = dir.join(name);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(f) => {
                f.set_permissions(fs::Permissions::from_mode(0o600))?;
                return Ok((path, f));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
            }
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free log file name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_dir_choices() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let root = Path::new("/");
        assert_eq!(
            log_dir(root, false, env(&[("HOME", "/root")])),
            Path::new("/var/log/kubestrap")
        );
        assert_eq!(
            log_dir(Path::new("/srv/r"), false, env(&[])),
            Path::new("/srv/r/var/log/kubestrap")
        );
        assert_eq!(
            log_dir(root, true, env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")])),
            Path::new("/s/kubestrap")
        );
        assert_eq!(
            log_dir(root, true, env(&[("HOME", "/h")])),
            Path::new("/h/.local/state/kubestrap")
        );
        assert_eq!(
            log_dir(root, true, env(&[(LOG_DIR_ENV, "/l"), ("HOME", "/h")])),
            Path::new("/l")
        );
    }

    #[test]
    fn log_file_is_private_new_and_never_follows_a_symlink() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("logs");
        let (path, _f) = create_run_log(&dir, "init").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        // A second log in the same second gets its own file.
        let (path2, _f2) = create_run_log(&dir, "init").unwrap();
        assert_ne!(path, path2);

        // A symlinked directory is refused.
        let victim_dir = t.path().join("victim");
        fs::create_dir(&victim_dir).unwrap();
        let link_dir = t.path().join("linkdir");
        std::os::unix::fs::symlink(&victim_dir, &link_dir).unwrap();
        let e = create_run_log(&link_dir, "init").unwrap_err();
        assert!(e.to_string().contains("refusing"), "{e}");

        // Symlinks planted at every name the log could take are never followed.
        let victim = t.path().join("victim.txt");
        fs::write(&victim, "keep").unwrap();
        let d2 = t.path().join("logs2");
        fs::create_dir(&d2).unwrap();
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        for s in [secs, secs + 1] {
            let base = format!("kubestrap-init-{s}-{}", std::process::id());
            std::os::unix::fs::symlink(&victim, d2.join(format!("{base}.log"))).unwrap();
        }
        let (p, mut f) = create_run_log(&d2, "init").unwrap();
        use std::io::Write;
        writeln!(f, "line").unwrap();
        assert!(!fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }
}
