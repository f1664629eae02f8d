//! The `certs` phase: the cluster PKI under `certificatesDir`, one sub-phase per
//! certificate plus `sa`, as `kubeadm init phase certs` does.
//!
//! Work is planned before anything is written: every existing file is loaded and checked
//! first (reuse, external CA, mismatch), then the missing key pairs are generated in parallel
//! (or taken from `PhaseCtx::key_pool`), then certificates are signed and written in
//! sub-phase order. When a write fails, the files this run created are removed again, so a
//! failure leaves the disk as it was. Nothing existing is ever overwritten.
//!
//! Mirrors `app/cmd/phases/init/certs.go` and `app/phases/certs/certs.go`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::KeyPair;

use crate::engine::{Event, PhaseCtx, PhaseError};
use crate::pki::issue::{Ca, cert_info, check_key_matches, check_leaf, disp, read};
use crate::pki::keys::{load_private_key, private_key_pem, public_key_pem};
use crate::pki::spec::{self, CertSpec, Usage};
use crate::pki::{KeyAlgorithm, PkiError, issue_cert, load_cert_pem, pem_encode};

/// Sub-phases of `certs` in kubeadm's order, with one-line descriptions.
pub const SUBPHASES: &[(&str, &str)] = &[
    (
        "ca",
        "Generate the self-signed Kubernetes CA to provision identities for other Kubernetes components",
    ),
    (
        "apiserver",
        "Generate the certificate for serving the Kubernetes API",
    ),
    (
        "apiserver-kubelet-client",
        "Generate the certificate for the API server to connect to kubelet",
    ),
    (
        "front-proxy-ca",
        "Generate the self-signed CA to provision identities for front proxy",
    ),
    (
        "front-proxy-client",
        "Generate the certificate for the front proxy client",
    ),
    (
        "etcd-ca",
        "Generate the self-signed CA to provision identities for etcd",
    ),
    ("etcd-server", "Generate the certificate for serving etcd"),
    (
        "etcd-peer",
        "Generate the certificate for etcd nodes to communicate with each other",
    ),
    (
        "etcd-healthcheck-client",
        "Generate the certificate for liveness probes to healthcheck etcd",
    ),
    (
        "apiserver-etcd-client",
        "Generate the certificate the apiserver uses to access etcd",
    ),
    (
        "sa",
        "Generate a private key for signing service account tokens along with its public key",
    ),
];

/// Mode of private keys and `sa.pub`.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificates.
pub const CERT_MODE: u32 = 0o644;

/// Runs one sub-phase of `certs` (`ca`, `apiserver`, …, `sa`) or all of them (`all`).
///
/// Sends `Event::Cert` per issued or reused certificate, `Event::FileWritten` per file, and
/// kubeadm's `[certs]` log lines. Errors name the file and what is wrong, with a hint; the
/// etcd sub-phases are skipped (with a log line) for external etcd.
pub fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    let cfg = &ctx.cfg;
    let alg = KeyAlgorithm::parse(&cfg.cluster.encryption_algorithm).map_err(to_phase_error)?;
    let list = spec::cert_list(cfg);
    let (certs, sa): (Vec<&'static CertSpec>, bool) = if sub == "all" {
        ctx.events.log(
            "certs",
            format!(
                "Using certificateDir folder {:?}",
                ctx.paths.pki_dir.display().to_string()
            ),
        );
        (list, true)
    } else if sub == "sa" {
        (vec![], true)
    } else if let Some(s) = spec::CERTS.iter().find(|c| c.subphase == sub) {
        if !list.contains(&s) {
            ctx.events.log(
                &format!("certs/{sub}"),
                "Skipping: etcd certificates are not needed with external etcd",
            );
            return Ok(());
        }
        (vec![s], false)
    } else {
        let names: Vec<&str> = SUBPHASES.iter().map(|(n, _)| *n).collect();
        return Err(PhaseError::new(format!(
            "unknown certs sub-phase {sub:?}; expected all or one of {}",
            names.join(", ")
        )));
    };
    let plan = plan(ctx, &certs, sa).map_err(to_phase_error)?;
    let mut written = Vec::new();
    let result = execute(ctx, alg, plan, &mut written);
    if result.is_err() {
        for p in written.iter().rev() {
            let _ = ctx.host.remove_file(p);
        }
    }
    result.map_err(to_phase_error)
}

/// What to do for one item.
enum Step {
    GenCa(&'static CertSpec),
    UseCa(&'static CertSpec, bool),
    GenLeaf(&'static CertSpec),
    UseLeaf(&'static CertSpec, Vec<u8>),
    GenSa,
    UseSa(Box<KeyPair>, bool),
}

/// A CA as the plan sees it: loaded from disk, or generated in this run.
enum CaSrc {
    Loaded(Ca),
    Planned,
}

struct Plan {
    steps: Vec<Step>,
    cas: HashMap<&'static str, CaSrc>,
}

fn paths(pki: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        pki.join(format!("{name}.crt")),
        pki.join(format!("{name}.key")),
    )
}

fn plan(ctx: &PhaseCtx, certs: &[&'static CertSpec], sa: bool) -> Result<Plan, PkiError> {
    let host = ctx.host.as_ref();
    let pki = &ctx.paths.pki_dir;
    let mut cas: HashMap<&'static str, CaSrc> = HashMap::new();
    let mut steps = Vec::new();
    for s in certs {
        let (crt, key) = paths(pki, s.name);
        let (has_crt, has_key) = (host.exists(&crt), host.exists(&key));
        match s.ca {
            None => {
                if has_crt {
                    let ca = Ca::load(host, pki, s.name)?;
                    steps.push(Step::UseCa(s, ca.key.is_some()));
                    cas.insert(s.name, CaSrc::Loaded(ca));
                } else if has_key {
                    return Err(PkiError::HalfPair {
                        present: disp(&key),
                        missing: disp(&crt),
                    });
                } else {
                    steps.push(Step::GenCa(s));
                    cas.insert(s.name, CaSrc::Planned);
                }
            }
            Some(ca_name) => {
                if !cas.contains_key(ca_name) {
                    let ca = Ca::load(host, pki, ca_name)?;
                    cas.insert(ca_name, CaSrc::Loaded(ca));
                }
                let (ca_crt, _) = paths(pki, ca_name);
                match (has_crt, has_key) {
                    (true, true) => {
                        let der = load_cert_pem(&must_read(host, &crt)?, &disp(&crt))?;
                        let k = load_private_key(&must_read(host, &key)?, &disp(&key))?;
                        check_key_matches(&der, &crt, &k, &key)?;
                        match cas.get(ca_name) {
                            Some(CaSrc::Loaded(ca)) => {
                                check_leaf(&der, &crt, ca, &s.expected_sans(&ctx.cfg)?)?
                            }
                            _ => {
                                return Err(PkiError::WrongCa {
                                    path: disp(&crt),
                                    ca_path: format!("{} (about to be generated)", disp(&ca_crt)),
                                });
                            }
                        }
                        steps.push(Step::UseLeaf(s, der));
                    }
                    (true, false) | (false, true) => {
                        let (present, missing) = if has_crt { (crt, key) } else { (key, crt) };
                        return Err(PkiError::HalfPair {
                            present: disp(&present),
                            missing: disp(&missing),
                        });
                    }
                    (false, false) => {
                        if let Some(CaSrc::Loaded(ca)) = cas.get(ca_name)
                            && ca.key.is_none()
                        {
                            return Err(PkiError::ExternalCaMissing {
                                ca_path: disp(&ca_crt),
                                missing: disp(&crt),
                            });
                        }
                        // Validate the SAN inputs now, so a bad config fails before writing.
                        s.expected_sans(&ctx.cfg)?;
                        steps.push(Step::GenLeaf(s));
                    }
                }
            }
        }
    }
    if sa {
        let key = pki.join("sa.key");
        let public = pki.join("sa.pub");
        match read(host, &key)? {
            Some(bytes) => {
                let k = load_private_key(&bytes, &disp(&key))?;
                steps.push(Step::UseSa(Box::new(k), !host.exists(&public)));
            }
            None if host.exists(&public) => {
                return Err(PkiError::HalfPair {
                    present: disp(&public),
                    missing: disp(&key),
                });
            }
            None => steps.push(Step::GenSa),
        }
    }
    Ok(Plan { steps, cas })
}

fn must_read(host: &dyn crate::host::Host, p: &Path) -> Result<Vec<u8>, PkiError> {
    read(host, p)?.ok_or_else(|| PkiError::Missing { path: disp(p) })
}

/// Takes `n` keys of `alg`: from the context's key pool when it holds that algorithm,
/// otherwise generated now in parallel.
pub fn take_keys(ctx: &PhaseCtx, alg: KeyAlgorithm, n: usize) -> Result<Vec<KeyPair>, PkiError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    match &ctx.key_pool {
        Some(pool) if pool.algorithm() == alg => pool.take(n),
        _ => alg.generate_many(n),
    }
}

/// Writes one file through the host, recording it for rollback and sending `FileWritten`.
pub(crate) fn write_file(
    ctx: &PhaseCtx,
    path: &Path,
    data: &[u8],
    mode: u32,
    written: &mut Vec<PathBuf>,
) -> Result<(), PkiError> {
    ctx.host
        .write_atomic(path, data, mode)
        .map_err(|e| PkiError::Io {
            path: disp(path),
            source: e,
        })?;
    written.push(path.to_path_buf());
    ctx.events.send(Event::FileWritten {
        path: disp(path),
        mode,
    });
    Ok(())
}

fn send_cert(ctx: &PhaseCtx, name: &str, path: &Path, der: &[u8], reused: bool) {
    if let Ok(info) = cert_info(der, path) {
        ctx.events.send(Event::Cert {
            name: name.to_string(),
            path: disp(path),
            subject: info.subject,
            sans: info.sans,
            not_after: info.not_after,
            key_algorithm: info.key_algorithm,
            reused,
        });
    }
}

fn validity(ctx: &PhaseCtx, ca: bool) -> Duration {
    let c = &ctx.cfg.cluster;
    let (v, default) = if ca {
        (c.ca_certificate_validity_period, 87600 * 3600)
    } else {
        (c.certificate_validity_period, 8760 * 3600)
    };
    v.map(|d| d.as_std())
        .unwrap_or(Duration::from_secs(default))
}

fn execute(
    ctx: &PhaseCtx,
    alg: KeyAlgorithm,
    plan: Plan,
    written: &mut Vec<PathBuf>,
) -> Result<(), PkiError> {
    let Plan { steps, mut cas } = plan;
    let pki = ctx.paths.pki_dir.clone();
    let n = steps
        .iter()
        .filter(|s| matches!(s, Step::GenCa(_) | Step::GenLeaf(_) | Step::GenSa))
        .count();
    let mut keys = take_keys(ctx, alg, n)?;
    let mut next_key = || {
        keys.pop().ok_or_else(|| PkiError::Crypto {
            what: "key generation".into(),
            reason: "fewer keys than planned".into(),
        })
    };
    for step in steps {
        match step {
            Step::GenCa(s) => {
                let phase = format!("certs/{}", s.subphase);
                ctx.events.log(
                    &phase,
                    format!("Generating {:?} certificate and key", s.name),
                );
                let key = next_key()?;
                let sans = s.expected_sans(&ctx.cfg)?;
                let der = issue_cert(
                    &s.cn(&ctx.cfg),
                    s.organizations,
                    Usage::Ca,
                    &sans,
                    &key,
                    None,
                    ctx.started_at,
                    validity(ctx, true),
                )?;
                let (crt, kp) = paths(&pki, s.name);
                write_file(
                    ctx,
                    &kp,
                    private_key_pem(&key)?.as_bytes(),
                    KEY_MODE,
                    written,
                )?;
                write_file(
                    ctx,
                    &crt,
                    pem_encode("CERTIFICATE", &der).as_bytes(),
                    CERT_MODE,
                    written,
                )?;
                send_cert(ctx, s.name, &crt, &der, false);
                cas.insert(s.name, CaSrc::Loaded(Ca::new(s.name, crt, der, Some(key))));
                record_pin(ctx, s.name, &cas);
            }
            Step::UseCa(s, with_key) => {
                let phase = format!("certs/{}", s.subphase);
                if let Some(CaSrc::Loaded(ca)) = cas.get(s.name) {
                    if with_key {
                        ctx.events.log(
                            &phase,
                            format!("Using existing {} certificate authority", s.name),
                        );
                    } else {
                        ctx.events.log(
                            &phase,
                            format!(
                                "External CA mode: Using existing {} keyless certificate authority",
                                s.name
                            ),
                        );
                    }
                    send_cert(ctx, s.name, &ca.cert_path, &ca.cert_der, true);
                }
                record_pin(ctx, s.name, &cas);
            }
            Step::GenLeaf(s) => {
                let phase = format!("certs/{}", s.subphase);
                ctx.events.log(
                    &phase,
                    format!("Generating {:?} certificate and key", s.name),
                );
                let key = next_key()?;
                let sans = s.expected_sans(&ctx.cfg)?;
                let ca_name = s.ca.unwrap_or("ca");
                let Some(CaSrc::Loaded(ca)) = cas.get(ca_name) else {
                    return Err(PkiError::Missing {
                        path: disp(&paths(&pki, ca_name).0),
                    });
                };
                let der = issue_cert(
                    &s.cn(&ctx.cfg),
                    s.organizations,
                    s.usage,
                    &sans,
                    &key,
                    Some(ca),
                    ctx.started_at,
                    validity(ctx, false),
                )?;
                if matches!(s.usage, Usage::Server | Usage::ServerClient) {
                    ctx.events.log(
                        &phase,
                        format!(
                            "{} serving cert is signed for DNS names [{}] and IPs [{}]",
                            s.name,
                            sans.dns.join(" "),
                            sans.ips
                                .iter()
                                .map(|i| i.to_string())
                                .collect::<Vec<_>>()
                                .join(" ")
                        ),
                    );
                }
                let (crt, kp) = paths(&pki, s.name);
                write_file(
                    ctx,
                    &kp,
                    private_key_pem(&key)?.as_bytes(),
                    KEY_MODE,
                    written,
                )?;
                write_file(
                    ctx,
                    &crt,
                    pem_encode("CERTIFICATE", &der).as_bytes(),
                    CERT_MODE,
                    written,
                )?;
                send_cert(ctx, s.name, &crt, &der, false);
            }
            Step::UseLeaf(s, der) => {
                let phase = format!("certs/{}", s.subphase);
                ctx.events.log(
                    &phase,
                    format!("Using existing {} certificate and key on disk", s.name),
                );
                send_cert(ctx, s.name, &paths(&pki, s.name).0, &der, true);
            }
            Step::GenSa => {
                ctx.events
                    .log("certs/sa", "Generating \"sa\" key and public key");
                let key = next_key()?;
                write_file(
                    ctx,
                    &pki.join("sa.key"),
                    private_key_pem(&key)?.as_bytes(),
                    KEY_MODE,
                    written,
                )?;
                write_file(
                    ctx,
                    &pki.join("sa.pub"),
                    public_key_pem(&key).as_bytes(),
                    KEY_MODE,
                    written,
                )?;
            }
            Step::UseSa(key, write_pub) => {
                ctx.events.log("certs/sa", "Using the existing \"sa\" key");
                if write_pub {
                    write_file(
                        ctx,
                        &pki.join("sa.pub"),
                        public_key_pem(&key).as_bytes(),
                        KEY_MODE,
                        written,
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Stores the cluster CA's pin in the run state once `ca` is known.
fn record_pin(ctx: &PhaseCtx, name: &str, cas: &HashMap<&'static str, CaSrc>) {
    if name != "ca" {
        return;
    }
    if let Some(CaSrc::Loaded(ca)) = cas.get("ca")
        && let Ok(pin) = crate::pki::ca_pin(&ca.cert_der)
        && let Ok(mut st) = ctx.state.lock()
        && !st.ca_cert_hashes.contains(&pin)
    {
        st.ca_cert_hashes.push(pin);
    }
}

/// Turns a PKI error into a phase error with a hint on what to do.
pub fn to_phase_error(e: PkiError) -> PhaseError {
    let hint = match &e {
        PkiError::MissingSans { path, .. } => Some(format!(
            "the certificate was issued before these SANs were configured; move {path} and its \
             .key away and run `kubestrap init phase certs apiserver` (or the matching \
             sub-phase) to issue it again with every required SAN"
        )),
        PkiError::WrongCa { path, .. }
        | PkiError::Expired { path, .. }
        | PkiError::KeyMismatch {
            cert_path: path, ..
        } => Some(format!(
            "remove {path} and its key to have them generated again, or provide a matching pair"
        )),
        PkiError::Corrupt { path, .. } => Some(format!(
            "{path} is damaged; restore it from a backup or remove it (and its pair) to regenerate"
        )),
        PkiError::HalfPair { present, .. } => Some(format!(
            "provide the missing file, or remove {present} to have both generated"
        )),
        PkiError::ExternalCaMissing { missing, .. } => Some(format!(
            "sign {missing} with your CA and place it (with its key) there, or add the CA key to let kubestrap issue it"
        )),
        PkiError::Missing { path } => Some(format!(
            "{path} is needed first; run `kubestrap init phase certs all`"
        )),
        PkiError::Io { path, .. } => Some(format!(
            "check that {path} and its directory are writable (run as root?)"
        )),
        _ => None,
    };
    let mut pe = PhaseError::new(e.to_string());
    if let Some(h) = hint {
        pe = pe.hint(h);
    }
    pe
}
