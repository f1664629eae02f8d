//! [`DryRunDir`]: where a dry run writes its files, and whether they stay afterwards.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The directory a dry run writes into: the one the user asked for (`--dry-run-dir DIR` or
/// an environment variable), kept afterwards; or a new private temporary directory (mode
/// 0700), removed by [`DryRunDir::finish`] since it holds private keys.
#[derive(Debug)]
pub struct DryRunDir {
    path: PathBuf,
    temp: Option<tempfile::TempDir>,
}

impl DryRunDir {
    /// `requested` (created with mode 0700 when missing, kept at the end), or a new
    /// temporary directory named `<prefix>…` (mode 0700, removed at the end). Errors: the
    /// directory cannot be created, or `requested` exists and is not a directory.
    pub fn new(prefix: &str, requested: Option<PathBuf>) -> io::Result<Self> {
        match requested {
            Some(path) => {
                match fs::metadata(&path) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::NotADirectory,
                            format!("{} is not a directory", path.display()),
                        ));
                    }
                    Err(_) => fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(&path)
                        .map_err(|e| {
                            io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                        })?,
                }
                Ok(DryRunDir { path, temp: None })
            }
            None => {
                let t = tempfile::Builder::new().prefix(prefix).tempdir()?;
                // It will hold private keys: owner only, whatever the umask.
                fs::set_permissions(t.path(), fs::Permissions::from_mode(0o700))?;
                Ok(DryRunDir {
                    path: t.path().to_path_buf(),
                    temp: Some(t),
                })
            }
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the directory stays after the run (the user named it).
    pub fn kept(&self) -> bool {
        self.temp.is_none()
    }

    /// Removes a temporary directory (a named one stays) and returns the sentence that says
    /// which happened, for the last line of the run.
    pub fn finish(self) -> String {
        match self.temp {
            None => format!("The files are in {} (kept).", self.path.display()),
            Some(t) => match t.close() {
                Ok(()) => format!(
                    "The files were written to {} and removed (they include private keys); pass --dry-run-dir DIR to keep them.",
                    self.path.display()
                ),
                Err(e) => format!(
                    "The files are in {}; removing them failed: {e}. Remove them yourself (they include private keys).",
                    self.path.display()
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_dir_is_private_and_removed_named_dir_is_kept() {
        let d = DryRunDir::new("kubestrap-test-dryrun", None).unwrap();
        let p = d.path().to_path_buf();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::write(p.join("ca.key"), "x").unwrap();
        assert!(!d.kept());
        let msg = d.finish();
        assert!(!p.exists(), "{msg}");
        assert!(
            msg.contains("removed") && msg.contains("--dry-run-dir"),
            "{msg}"
        );

        let parent = tempfile::tempdir().unwrap();
        let named = parent.path().join("a/b");
        let d = DryRunDir::new("unused", Some(named.clone())).unwrap();
        assert!(d.kept());
        let mode = fs::metadata(&named).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let msg = d.finish();
        assert!(named.is_dir() && msg.contains("kept"), "{msg}");

        let file = parent.path().join("f");
        fs::write(&file, "").unwrap();
        let e = DryRunDir::new("unused", Some(file)).unwrap_err();
        assert!(e.to_string().contains("is not a directory"), "{e}");
    }
}
