//! The folders and copies of an upgrade, through the host: kubeadm's
//! `constants.CreateTimestampDir` / `CreateTempDir` under `/etc/kubernetes/tmp` and
//! `filesutil.CopyDir` / `CopyFile`.

use std::io;
use std::path::{Path, PathBuf};

use crate::host::Host;

/// `/etc/kubernetes/tmp`, where kubeadm keeps its backups and temporary manifests.
pub const TMP_DIR: &str = "/etc/kubernetes/tmp";

/// `/etc/kubernetes/tmp/<prefix>-YYYY-MM-DD-HH-MM-SS` (kubeadm's `CreateTimestampDir`, in
/// UTC), created with mode 0700; a suffix `-N` is added when that name exists already.
/// Errors: the directory cannot be created.
pub fn timestamp_dir(host: &dyn Host, prefix: &str) -> io::Result<PathBuf> {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!("[year]-[month]-[day]-[hour]-[minute]-[second]");
    let stamp = now.format(&fmt).map_err(io::Error::other)?;
    let base = Path::new(TMP_DIR).join(format!("{prefix}-{stamp}"));
    let mut dir = base.clone();
    for i in 1..100 {
        if !host.exists(&dir) {
            break;
        }
        dir = PathBuf::from(format!("{}-{i}", base.display()));
    }
    host.create_dir_all(&dir, 0o700)?;
    Ok(dir)
}

/// `/etc/kubernetes/tmp/<prefix><random digits>` (kubeadm's `CreateTempDir`), mode 0700.
pub fn temp_dir(host: &dyn Host, prefix: &str) -> io::Result<PathBuf> {
    let n: u32 = rand::random::<u32>() % 1_000_000_000;
    let dir = Path::new(TMP_DIR).join(format!("{prefix}{n}"));
    host.create_dir_all(&dir, 0o700)?;
    Ok(dir)
}

fn is_dir_error(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::IsADirectory || e.raw_os_error() == Some(libc::EISDIR)
}

/// Copies the tree `src` into `dst` (created), file by file with atomic, synced writes that
/// keep each file's mode; returns how many files were copied. Errors name the file.
pub fn copy_dir(host: &dyn Host, src: &Path, dst: &Path) -> Result<usize, String> {
    let mode = host.mode(src).unwrap_or(0o700);
    host.create_dir_all(dst, mode)
        .map_err(|e| format!("creating {}: {e}", dst.display()))?;
    let mut n = 0;
    for name in host
        .read_dir(src)
        .map_err(|e| format!("reading {}: {e}", src.display()))?
    {
        let (from, to) = (src.join(&name), dst.join(&name));
        match host.read(&from) {
            Ok(data) => {
                let m = host.mode(&from).unwrap_or(0o600);
                host.write_atomic(&to, &data, m)
                    .map_err(|e| format!("writing {}: {e}", to.display()))?;
                n += 1;
            }
            Err(e) if is_dir_error(&e) => n += copy_dir(host, &from, &to)?,
            Err(e) => return Err(format!("reading {}: {e}", from.display())),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_a_tree_and_names_timestamp_dirs() {
        let root = tempfile::tempdir().unwrap();
        let host = crate::host::RealHost::new(root.path(), false).unwrap();
        let src = root.path().join("var/lib/etcd/member/snap");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("db"), b"data").unwrap();
        std::fs::write(root.path().join("var/lib/etcd/member/x"), b"x").unwrap();
        let d = timestamp_dir(&host, "kubeadm-backup-etcd").unwrap();
        assert!(
            d.display()
                .to_string()
                .starts_with("/etc/kubernetes/tmp/kubeadm-backup-etcd-20"),
            "{}",
            d.display()
        );
        let n = copy_dir(&host, Path::new("/var/lib/etcd"), &d.join("etcd")).unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            std::fs::read(host.resolve(&d.join("etcd/member/snap/db"))).unwrap(),
            b"data"
        );
        let t = temp_dir(&host, "kubeadm-upgraded-manifests").unwrap();
        assert!(host.exists(&t));
    }
}
