//! `rust-version` in Cargo.toml is the true minimum: at least the `rust-version` of every
//! package locked in Cargo.lock (as `cargo metadata --locked` reports them).

use std::process::Command;

fn parse(v: &str) -> Option<(u64, u64, u64)> {
    let mut it = v.trim().split('.').map(|p| p.parse::<u64>().ok());
    Some((
        it.next()??,
        it.next().flatten().unwrap_or(0),
        it.next().flatten().unwrap_or(0),
    ))
}

#[test]
fn rust_version_is_at_least_every_locked_dependencys() {
    let ours = env!("CARGO_PKG_RUST_VERSION");
    let ours_v = parse(ours).expect("rust-version in Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--locked", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata --locked failed (Cargo.lock out of date, or the registry unreachable):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let mut needs: Vec<((u64, u64, u64), String)> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["name"] != "kubestrap")
        .filter_map(|p| {
            let v = parse(p["rust_version"].as_str()?)?;
            Some((
                v,
                format!("{} {}", p["name"].as_str()?, p["version"].as_str()?),
            ))
        })
        .collect();
    needs.sort();
    let (max, who) = needs
        .last()
        .cloned()
        .expect("some dependency declares rust-version");
    assert!(
        ours_v >= max,
        "rust-version = \"{ours}\" but {who} needs {}.{}.{}",
        max.0,
        max.1,
        max.2
    );
}
