//! The real Kubernetes binaries that scripts/k8s-bins.sh builds: each reports the version it
//! was built for, kubestrap's version table agrees with what each kubeadm pins, and the flag
//! lists in assets/flags/ are exactly the flags the default version's binaries' `--help` lists.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::k8s;

fn first_line(program: &Path, args: &[&str]) -> String {
    let (code, out, err) = k8s::run(program, args, &[]);
    assert_eq!(code, 0, "{} {args:?}: {err}", program.display());
    out.lines().next().unwrap_or("").trim().to_string()
}

#[test]
fn every_binary_reports_the_version_it_was_built_for() {
    let Some(bins) = k8s::bin_dir() else { return };
    let def = k8s::default_version();
    for v in k8s::CARRIED {
        assert_eq!(
            first_line(&k8s::kubeadm(&bins, v), &["version", "-o", "short"]),
            *v,
            "kubeadm {v}"
        );
    }
    for c in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
    ] {
        assert_eq!(
            first_line(&bins.join(c), &["--version"]),
            format!("Kubernetes {def}"),
            "{c}"
        );
    }
    let kubectl = first_line(&bins.join("kubectl"), &["version", "--client"]);
    assert_eq!(kubectl, format!("Client Version: {def}"));
    // etcd at the version kubeadm pins for the default version (the tag without "-0").
    let info = kubestrap::config::versions::KubeVersion::parse(def)
        .unwrap()
        .info()
        .unwrap();
    let etcd = info.etcd.trim_end_matches("-0");
    assert_eq!(
        first_line(&bins.join("etcd"), &["--version"]),
        format!("etcd Version: {etcd}")
    );
    let (_, out, _) = k8s::run(&bins.join("coredns"), &["-version"], &[]);
    assert!(
        out.contains(&format!("CoreDNS-{}", info.coredns.trim_start_matches('v'))),
        "coredns -version: {out}"
    );
}

#[test]
fn version_table_matches_what_each_kubeadm_pins() {
    let Some(bins) = k8s::bin_dir() else { return };
    for v in k8s::CARRIED {
        let (code, out, err) = k8s::run(
            &k8s::kubeadm(&bins, v),
            &["config", "images", "list", "--kubernetes-version", v],
            &[],
        );
        assert_eq!(code, 0, "kubeadm {v} config images list: {err}");
        let info = kubestrap::config::versions::KubeVersion::parse(v)
            .unwrap()
            .info()
            .unwrap_or_else(|| panic!("kubestrap does not carry {v}"));
        let ours: BTreeSet<String> = [
            format!("registry.k8s.io/kube-apiserver:{v}"),
            format!("registry.k8s.io/kube-controller-manager:{v}"),
            format!("registry.k8s.io/kube-scheduler:{v}"),
            format!("registry.k8s.io/kube-proxy:{v}"),
            format!("registry.k8s.io/coredns/coredns:{}", info.coredns),
            format!("registry.k8s.io/pause:{}", info.pause),
            format!("registry.k8s.io/etcd:{}", info.etcd),
        ]
        .into_iter()
        .collect();
        let theirs: BTreeSet<String> = out.lines().map(|l| l.trim().to_string()).collect();
        assert_eq!(ours, theirs, "images of {v}");
    }
}

fn help_flags(program: &Path) -> BTreeSet<String> {
    let (_, out, err) = k8s::run(program, &["--help"], &[]);
    let mut flags = BTreeSet::new();
    for line in out.lines().chain(err.lines()) {
        let t = line.trim_start();
        if t.len() == line.len() {
            continue;
        }
        let t = match t.strip_prefix('-') {
            Some(r) if r.len() > 2 && r.as_bytes()[1] == b',' => r[2..].trim_start(),
            _ => t,
        };
        if let Some(f) = t.strip_prefix("--") {
            let name: String = f
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            if !name.is_empty() {
                flags.insert(name);
            }
        }
    }
    flags
}

#[test]
fn flag_lists_are_the_flags_of_the_real_binaries() {
    let Some(bins) = k8s::bin_dir() else { return };
    for c in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "etcd",
    ] {
        let p = bins.join(c);
        assert!(
            p.is_file(),
            "{} is missing: run scripts/k8s-bins.sh",
            p.display()
        );
        let real = help_flags(&p);
        let listed: BTreeSet<String> = kubestrap::config::flags::known_flags(c)
            .iter()
            .map(|s| s.to_string())
            .collect();
        let missing: Vec<_> = real.difference(&listed).collect();
        let extra: Vec<_> = listed.difference(&real).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "assets/flags/{c}.txt disagrees with the binaries' --help (run scripts/gen-flag-lists.sh): missing {missing:?}, not a flag {extra:?}"
        );
    }
}

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/k8s-bins.sh")
}

#[test]
fn without_go_the_script_says_what_is_missing_and_writes_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("bash")
        .arg(script())
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("KUBESTRAP_K8S_CACHE", cache.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no Go toolchain on PATH") && err.contains("install Go"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn a_cached_binary_with_the_wrong_version_is_rebuilt_not_used() {
    let Some(bins) = k8s::bin_dir() else { return };
    let def = k8s::default_version();
    // A cache holding a kubeadm that claims another version.
    let cache = tempfile::tempdir().unwrap();
    let bin = cache.path().join(def).join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("kubeadm");
    std::fs::write(&fake, "#!/bin/sh\necho v1.0.0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("bash")
        .arg(script())
        .arg("--kubeadm-only")
        .env("KUBESTRAP_K8S_CACHE", cache.path())
        .env("KUBESTRAP_K8S_VERSIONS", def)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("building kubeadm {def}")), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().last(), Some(bin.to_str().unwrap()));
    assert_eq!(
        first_line(&fake, &["version", "-o", "short"]),
        def,
        "the rebuilt kubeadm"
    );
    // Nothing temporary is left in the cache.
    let left: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    drop(bins);
}

/// kubestrap's check of an extraArgs value agrees with the real component's flag parser: for
/// one flag of each checked type (boolean, int, float, duration, ip, portRange) of each
/// component, a good and a bad value are given to the binary with `--version` (cobra parses
/// every flag first and exits non-zero on a value it rejects).
#[test]
fn flag_value_checks_agree_with_the_real_binaries() {
    use kubestrap::config::flags::{check_flag_value, flag_type, known_flags};
    let Some(bins) = k8s::bin_dir() else { return };
    let samples: &[(&str, &str, &str)] = &[
        ("", "false", "maybe"),
        ("", "true", ""),
        ("int", "30", "ten"),
        ("int", "0x1e", ""),
        ("int32", "30", "3.5"),
        ("float32", "0.5", "half"),
        ("float", "0.01", "1/2"),
        ("duration", "1m30s", "90"),
        ("duration", "0s", ""),
        ("ip", "10.0.0.1", "10.0.0.256"),
        ("ip", "", "::g"),
        ("portRange", "30000-32767", "32767-30000"),
        ("portRange", "", "1-70000"),
    ];
    let mut checked = 0;
    for c in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        for (ty, good, bad) in samples {
            // A flag of this type that does not change what --version does.
            let Some(flag) = known_flags(c).iter().find(|f| {
                flag_type(c, f) == Some(*ty) && !matches!(**f, "version" | "help" | "v" | "vmodule")
            }) else {
                continue;
            };
            for (value, kubestrap_ok) in [(good, true), (bad, false)] {
                assert_eq!(
                    check_flag_value(c, flag, value).is_ok(),
                    kubestrap_ok,
                    "{c} --{flag}={value}"
                );
                let (code, out, err) = k8s::run(
                    &bins.join(c),
                    &[&format!("--{flag}={value}"), "--version"],
                    &[],
                );
                assert_eq!(
                    code == 0,
                    kubestrap_ok,
                    "{c} --{flag}={value}: exit {code}: {out}{err}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} flag values checked");
}

/// The feature-gate lists in assets/feature-gates/ and the admission plugins in
/// assets/admission-plugins.txt are the real binaries' (scripts/gen-feature-gates.sh): every
/// alpha and beta gate `--help` lists is in the list; the binary takes every listed gate at
/// once (locked ones at their value); a name kubestrap refuses (unknown, or a locked gate set
/// the other way) the binary refuses too; the plugins are exactly those `--help` names for
/// `--enable-admission-plugins`, with the same defaults.
#[test]
fn feature_gate_and_admission_plugin_lists_are_the_real_binaries() {
    use kubestrap::config::gates::{admission_plugins, gates_minor, known_gates};
    use kubestrap::config::validate::validate_extra_arg_value;
    let Some(bins) = k8s::bin_dir() else { return };
    let def = k8s::default_version();
    assert_eq!(gates_minor(), kubestrap::config::versions::minor_of(def));
    let accepts = |c: &str, v: &str| {
        let (code, out, err) = k8s::run(
            &bins.join(c),
            &[&format!("--feature-gates={v}"), "--version"],
            &[],
        );
        (code == 0, format!("{out}{err}"))
    };
    for c in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        let listed = known_gates(c);
        assert!(listed.len() > 100, "{c}: {} gates", listed.len());
        let (_, out, err) = k8s::run(&bins.join(c), &["--help"], &[]);
        let help: BTreeSet<String> = out
            .lines()
            .chain(err.lines())
            .filter_map(|l| l.trim().strip_prefix("kube:"))
            .filter_map(|l| l.split_once("=true|false"))
            .map(|(n, _)| n.to_string())
            .collect();
        assert!(help.len() > 50, "{c} --help lists {} gates", help.len());
        let missing: Vec<&String> = help
            .iter()
            .filter(|h| !listed.iter().any(|(n, _)| n == h))
            .collect();
        assert!(
            missing.is_empty(),
            "assets/feature-gates/{c}.txt lacks gates of {c} --help (run scripts/gen-feature-gates.sh): {missing:?}"
        );
        let all: Vec<String> = listed
            .iter()
            .map(|(n, l)| format!("{n}={}", l.unwrap_or(true)))
            .collect();
        let all = all.join(",");
        assert_eq!(
            validate_extra_arg_value(c, "feature-gates", &all, def),
            Ok(())
        );
        let (ok, out) = accepts(c, &all);
        assert!(ok, "{c} refuses the listed gates: {out}");
        let (name, locked) = listed
            .iter()
            .find_map(|(n, l)| l.map(|l| (*n, l)))
            .expect("a locked gate");
        for bad in [
            "NoSuchGateAtAll=true".to_string(),
            format!("{name}={}", !locked),
        ] {
            assert!(
                validate_extra_arg_value(c, "feature-gates", &bad, def).is_err(),
                "{c} {bad}"
            );
            let (ok, out) = accepts(c, &bad);
            assert!(!ok, "{c} takes --feature-gates={bad}: {out}");
        }
    }
    let (_, out, _) = k8s::run(&bins.join("kube-apiserver"), &["--help"], &[]);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("--enable-admission-plugins "))
        .expect("--enable-admission-plugins in --help");
    let list = |after: &str, end: char| -> BTreeSet<String> {
        let rest = &line[line.find(after).expect(after) + after.len()..];
        rest[..rest.find(end).unwrap()]
            .split(',')
            .map(|s| s.trim().to_string())
            .collect()
    };
    let all = list("Comma-delimited list of admission plugins: ", '.');
    let on = list("default enabled ones (", ')');
    let ours: BTreeSet<String> = admission_plugins()
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let ours_on: BTreeSet<String> = admission_plugins()
        .iter()
        .filter(|(_, d)| *d)
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(
        ours, all,
        "assets/admission-plugins.txt (run scripts/gen-feature-gates.sh)"
    );
    assert_eq!(ours_on, on);
}
