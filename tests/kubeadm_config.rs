//! The real kubeadm reads what kubestrap writes (issue "Real Kubernetes as the judge"):
//! every export of every parity corpus config, in v1beta4 (and in v1beta3 for the versions
//! whose kubeadm still reads it), passes `kubeadm config validate` of its target version;
//! `kubeadm config migrate` and `kubestrap config migrate` of each v1beta3 file load to the
//! same configuration; `kubestrap config print init-defaults` equals kubeadm's.

mod support;

use std::path::{Path, PathBuf};

use support::k8s;

const KUBESTRAP: &str = env!("CARGO_BIN_EXE_kubestrap");

fn kubestrap(args: &[&str]) -> (i32, String, String) {
    k8s::run(Path::new(KUBESTRAP), args, &[])
}

fn minor(version: &str) -> u32 {
    version.split('.').nth(1).unwrap().parse().unwrap()
}

#[test]
fn every_export_passes_the_real_kubeadm_config_validate() {
    let Some(bins) = k8s::bin_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, text) in k8s::parity_corpus() {
        for v in k8s::CARRIED {
            if !k8s::applies(&text, v) {
                continue;
            }
            let input = tmp.path().join(format!("{v}-{name}"));
            std::fs::write(&input, text.replace("__VERSION__", v)).unwrap();
            // v1beta3 only for the kubeadm releases that still read it (up to v1.36).
            let apis: &[&str] = if minor(v) <= 36 {
                &["v1beta4", "v1beta3"]
            } else {
                &["v1beta4"]
            };
            for api in apis {
                let out = tmp.path().join(format!("{v}-{api}-{name}"));
                let (code, _, err) = kubestrap(&[
                    "config",
                    "export",
                    "--config",
                    input.to_str().unwrap(),
                    "--api-version",
                    api,
                    "--output",
                    out.to_str().unwrap(),
                ]);
                assert_eq!(code, 0, "kubestrap config export {name}@{v} {api}: {err}");
                let (code, stdout, stderr) = k8s::run(
                    &k8s::kubeadm(&bins, v),
                    &["config", "validate", "--config", out.to_str().unwrap()],
                    &[],
                );
                checked += 1;
                if code != 0 {
                    failures.push(format!(
                        "{name}@{v} as {api}: kubeadm config validate exit {code}: {stderr}{stdout}\n--- export:\n{}",
                        std::fs::read_to_string(&out).unwrap()
                    ));
                }
            }
        }
    }
    assert!(checked >= 100, "only {checked} exports were validated");
    assert!(
        failures.is_empty(),
        "{} of {checked} exports refused by the real kubeadm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Loads a kubeadm.yaml with kubestrap and prints its effective v1beta4 configuration.
fn effective(path: &Path) -> serde_yaml::Value {
    let (code, out, err) = kubestrap(&[
        "config",
        "export",
        "--config",
        path.to_str().unwrap(),
        "--with-token",
    ]);
    assert_eq!(code, 0, "kubestrap config export {}: {err}", path.display());
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&out)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    serde_yaml::Value::Sequence(docs)
}

#[test]
fn kubeadm_and_kubestrap_migrate_v1beta3_to_the_same_configuration() {
    let Some(bins) = k8s::bin_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut inputs: Vec<(String, PathBuf, &str)> = Vec::new();
    for (name, text) in k8s::parity_corpus() {
        if !text.contains("kubeadm.k8s.io/v1beta3") {
            continue;
        }
        for v in k8s::CARRIED {
            if k8s::applies(&text, v) {
                let p = tmp.path().join(format!("{v}-{name}"));
                std::fs::write(&p, text.replace("__VERSION__", v)).unwrap();
                inputs.push((format!("{name}@{v}"), p, v));
            }
        }
    }
    let legacy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/configs/07-v1beta3.yaml");
    inputs.push(("07-v1beta3.yaml".into(), legacy, "v1.34.4"));
    assert!(inputs.len() >= 4, "v1beta3 inputs: {}", inputs.len());
    for (label, input, v) in inputs {
        let theirs = tmp
            .path()
            .join(format!("kubeadm-{}", label.replace('@', "-")));
        let ours = tmp
            .path()
            .join(format!("kubestrap-{}", label.replace('@', "-")));
        let (code, _, err) = k8s::run(
            &k8s::kubeadm(&bins, v),
            &[
                "config",
                "migrate",
                "--old-config",
                input.to_str().unwrap(),
                "--new-config",
                theirs.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(code, 0, "kubeadm {v} config migrate {label}: {err}");
        let (code, _, err) = kubestrap(&[
            "config",
            "migrate",
            "--old-config",
            input.to_str().unwrap(),
            "--new-config",
            ours.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "kubestrap config migrate {label}: {err}");
        let (mut a, mut b) = (effective(&theirs), effective(&ours));
        // Without a token in the input, kubeadm's migrate invents a random one (kubestrap
        // generates it when init runs): the value is not part of the configuration.
        if !std::fs::read_to_string(&input).unwrap().contains("token:") {
            for doc in [&mut a, &mut b] {
                for t in doc[0]["bootstrapTokens"]
                    .as_sequence_mut()
                    .into_iter()
                    .flatten()
                {
                    t.as_mapping_mut().unwrap().remove("token");
                }
            }
        }
        assert_eq!(
            a,
            b,
            "{label}: kubeadm's and kubestrap's migrations load differently\n--- kubeadm:\n{}\n--- kubestrap:\n{}",
            std::fs::read_to_string(&theirs).unwrap(),
            std::fs::read_to_string(&ours).unwrap()
        );
    }
}

#[test]
fn print_init_defaults_equals_kubeadms() {
    let Some(bins) = k8s::bin_dir() else { return };
    {
        let v = k8s::default_version();
        let (code, theirs, err) = k8s::run(
            &k8s::kubeadm(&bins, v),
            &["config", "print", "init-defaults"],
            &[],
        );
        assert_eq!(code, 0, "{err}");
        let (code, ours, err) = kubestrap(&["config", "print", "init-defaults"]);
        assert_eq!(code, 0, "{err}");
        let parse = |t: &str| -> Vec<serde_yaml::Value> {
            serde_yaml::Deserializer::from_str(t)
                .map(|d| serde::Deserialize::deserialize(d).unwrap())
                .collect()
        };
        let (mut a, b) = (parse(&theirs), parse(&ours));
        // The one difference: kubeadm prints its own MAJOR.MINOR.0; kubestrap's default is the
        // newest patch it carries (tests/data/kubeadm-differences.toml has no file entry for
        // this: it is a default, not a written file).
        assert_eq!(a[1]["kubernetesVersion"], serde_yaml::Value::from("1.37.0"));
        a[1]["kubernetesVersion"] = v.into();
        assert_eq!(a, b, "--- kubeadm:\n{theirs}\n--- kubestrap:\n{ours}");
    }
}
