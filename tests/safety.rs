//! Safe by construction, through the real binary: `--root DIR` never starts a command that
//! changes this machine (a PATH of recording stubs stands in for every program), and a dry
//! run leaves no private key behind (its private directory is removed unless the user
//! named one).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::roots::{broken_root, recording_stubs};

const BIN: &str = env!("CARGO_BIN_EXE_kubestrap");

fn run(path: &Path, home: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("PATH", path)
        .env("HOME", home)
        .env("TMPDIR", home)
        .env_remove("KUBESTRAP_INIT_DRYRUN_DIR")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The commands the stubs recorded that are not read-only.
fn host_changing(record: &Path) -> Vec<String> {
    std::fs::read_to_string(record)
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            let program = w.next().unwrap_or("");
            let args: Vec<&str> = w.collect();
            !kubestrap::host::is_read_only_command(program, &args)
        })
        .map(String::from)
        .collect()
}

#[test]
fn root_with_fix_starts_no_command_that_changes_this_machine() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let bin = t.path().join("bin");
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let record = t.path().join("record");
    recording_stubs(&bin, &record, None);
    broken_root(&root);
    let r = root.to_str().unwrap();
    let common = [
        "--root",
        r,
        "init",
        "--non-interactive",
        "--apiserver-advertise-address",
        "192.0.2.10",
        "--node-name",
        "cp1",
        "--fix",
    ];
    let mut all = String::new();
    for extra in [
        &["phase", "preflight"][..],
        &["phase", "preflight", "--ignore-preflight-errors=all"][..],
        &["phase", "kubelet-start"][..],
    ] {
        let args: Vec<&str> = common.iter().chain(extra).copied().collect();
        let (_, out) = run(&bin, &home, &args);
        all.push_str(&out);
    }
    let bad = host_changing(&record);
    assert!(
        bad.is_empty(),
        "host-changing commands were started under --root: {bad:?}\n{all}"
    );
    // The refusal is explained, and no hint asks for --fix.
    assert!(
        all.contains("does not run `swapoff -a` under --root"),
        "{all}"
    );
    assert!(!all.contains("run again with --fix"), "{all}");
    assert!(all.contains("the kubelet was not started"), "{all}");
    // Files still land under the root (the fix is refused whole: fstab untouched).
    assert!(root.join("var/lib/kubelet/config.yaml").exists(), "{all}");
    assert_eq!(
        std::fs::read_to_string(root.join("etc/fstab")).unwrap(),
        "/swapfile none swap sw 0 0\n"
    );
}

fn dryrun_leftovers(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("dryrun"))
        })
        .collect()
}

#[test]
fn init_dry_run_removes_its_private_directory_unless_asked_to_keep_it() {
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let base = [
        "init",
        "--dry-run",
        "--non-interactive",
        "--apiserver-advertise-address",
        "192.0.2.10",
        "--node-name",
        "cp1",
    ];
    let (code, out) = run(Path::new(&path), &tmp, &base);
    assert_eq!(code, 0, "{out}");
    assert_eq!(dryrun_leftovers(&tmp), Vec::<PathBuf>::new(), "{out}");
    let last = out.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("removed") && last.contains("--dry-run-dir"),
        "last line: {last}\n{out}"
    );

    // --dry-run-dir DIR: created private, kept, and the last line says so.
    let keep = t.path().join("keep");
    let k = keep.to_str().unwrap();
    let args: Vec<&str> = base.iter().copied().chain(["--dry-run-dir", k]).collect();
    let (code, out) = run(Path::new(&path), &tmp, &args);
    assert_eq!(code, 0, "{out}");
    assert!(keep.join("etc/kubernetes/pki/ca.key").exists(), "{out}");
    let mode = std::fs::metadata(&keep).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let last = out.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("kept") && last.contains(k),
        "last line: {last}"
    );
    assert_eq!(dryrun_leftovers(&tmp), Vec::<PathBuf>::new());
}
