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

use rayon::prelude::*;
use rcgen::KeyPair;

use crate::engine::{Event, PhaseCtx, PhaseError};
use crate::host::FileWrite;
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
                format!(
                    "External etcd mode: Skipping {} certificate authority generation",
                    s.name
                ),
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
    let mut batch = Batch::default();
    let result = execute(ctx, alg, plan, &mut batch).and_then(|()| batch.flush(ctx, &mut written));
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
    Loaded(Box<Ca>),
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
                    cas.insert(s.name, CaSrc::Loaded(Box::new(ca)));
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
                    cas.insert(ca_name, CaSrc::Loaded(Box::new(ca)));
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

/// A background key pool for a run that creates the PKI from nothing (no `ca.key` under the
/// host yet): the key pairs of the whole certs and kubeconfig set ([`keys_for_fresh_pki`])
/// start generating on every core at once, while preflight runs, instead of one by one in
/// each sub-phase. `None` when the CA exists (its certificates are likely reused), for
/// ECDSA keys (cheap) and when the algorithm is unknown (the certs phase reports that).
pub fn fresh_pki_key_pool(ctx: &PhaseCtx) -> Option<std::sync::Arc<crate::pki::KeyPool>> {
    if ctx.host.exists(&ctx.paths.pki_dir.join("ca.key")) {
        return None;
    }
    let alg = KeyAlgorithm::parse(&ctx.cfg.cluster.encryption_algorithm).ok()?;
    // ECDSA keys take microseconds: threads of their own would cost more than they save.
    let rsa = matches!(
        alg,
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096
    );
    rsa.then(|| crate::pki::KeyPool::start(alg, keys_for_fresh_pki(ctx)))
}

/// How many key pairs a fresh PKI takes: one per certificate of [`spec::cert_list`] (ten,
/// or five with external etcd), `sa`, and one per kubeconfig file.
pub fn keys_for_fresh_pki(ctx: &PhaseCtx) -> usize {
    spec::cert_list(&ctx.cfg).len() + 1 + super::kubeconfig::SUBPHASES.len()
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

/// The files and events of one phase run. Files are queued while certificates are signed
/// and written together by [`Batch::flush`]; events follow once the files are on disk.
#[derive(Default)]
pub(crate) struct Batch {
    files: Vec<(PathBuf, Vec<u8>, u32)>,
    events: Vec<Event>,
}

impl Batch {
    /// Queues a file.
    pub(crate) fn file(&mut self, path: &Path, data: impl AsRef<[u8]>, mode: u32) {
        self.files
            .push((path.to_path_buf(), data.as_ref().to_vec(), mode));
    }

    /// Queues an `Event::Cert` for the certificate `der` stored at `path` (`name` as kubeadm
    /// prints it).
    pub(crate) fn cert(&mut self, name: &str, path: &Path, der: &[u8], reused: bool) {
        if let Ok(info) = cert_info(der, path) {
            self.events.push(Event::Cert {
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

    /// Writes every queued file with one [`crate::host::Host::write_atomic_all`] (every
    /// temporary file, their fsyncs in parallel, a commit record, the renames, one sync per
    /// directory), then sends `FileWritten` per file in queue order and the queued events.
    /// Paths written are appended to `written` (for rollback); the failing file is named in
    /// the error.
    pub(crate) fn flush(self, ctx: &PhaseCtx, written: &mut Vec<PathBuf>) -> Result<(), PkiError> {
        let files: Vec<FileWrite<'_>> = self
            .files
            .iter()
            .map(|(path, data, mode)| FileWrite {
                path,
                data,
                mode: *mode,
            })
            .collect();
        let result = ctx.host.write_atomic_all(&files);
        let in_place = match &result {
            Ok(()) => self.files.len(),
            Err(e) => e.written,
        };
        for (path, _, mode) in &self.files[..in_place] {
            written.push(path.clone());
            ctx.events.send(Event::FileWritten {
                path: disp(path),
                mode: *mode,
            });
        }
        if let Err(e) = result {
            return Err(PkiError::Io {
                path: disp(&self.files[e.failed].0),
                source: e.source,
            });
        }
        for ev in self.events {
            ctx.events.send(ev);
        }
        Ok(())
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

/// A certificate signed in this run: its key PEM and certificate DER.
struct Signed {
    key_pem: String,
    der: Vec<u8>,
}

fn sign_one(
    ctx: &PhaseCtx,
    s: &CertSpec,
    key: &KeyPair,
    ca: Option<&Ca>,
) -> Result<Signed, PkiError> {
    let der = issue_cert(
        &s.cn(&ctx.cfg),
        s.orgs(&ctx.cfg),
        s.usage,
        &s.expected_sans(&ctx.cfg)?,
        key,
        ca,
        ctx.started_at,
        validity(ctx, ca.is_none()),
    )?;
    Ok(Signed {
        key_pem: private_key_pem(key)?,
        der,
    })
}

fn execute(
    ctx: &PhaseCtx,
    alg: KeyAlgorithm,
    plan: Plan,
    batch: &mut Batch,
) -> Result<(), PkiError> {
    let Plan { steps, mut cas } = plan;
    let pki = ctx.paths.pki_dir.clone();
    let gen_cas: Vec<&'static CertSpec> = steps
        .iter()
        .filter_map(|s| match s {
            Step::GenCa(c) => Some(*c),
            _ => None,
        })
        .collect();
    let gen_leaves: Vec<&'static CertSpec> = steps
        .iter()
        .filter_map(|s| match s {
            Step::GenLeaf(c) => Some(*c),
            _ => None,
        })
        .collect();
    let gen_sa = steps.iter().any(|s| matches!(s, Step::GenSa));
    let n = gen_cas.len() + gen_leaves.len() + usize::from(gen_sa);
    let mut keys = take_keys(ctx, alg, n)?;
    if keys.len() != n {
        return Err(PkiError::Crypto {
            what: "key generation".into(),
            reason: format!("{} keys for {n} items", keys.len()),
        });
    }
    let sa_key = if gen_sa { keys.pop() } else { None };
    let leaf_keys = keys.split_off(gen_cas.len());
    // Sign the new CAs, then every new leaf, in parallel (independent signatures); the
    // files, logs and events below still follow kubeadm's sub-phase order.
    let signed_cas: Vec<(KeyPair, Vec<u8>)> = gen_cas
        .par_iter()
        .zip(keys.into_par_iter())
        .map(|(s, key)| sign_one(ctx, s, &key, None).map(|signed| (key, signed.der)))
        .collect::<Result<_, _>>()?;
    let mut new_ca_files: HashMap<&'static str, Signed> = HashMap::new();
    for (s, (key, der)) in gen_cas.iter().zip(signed_cas) {
        new_ca_files.insert(
            s.name,
            Signed {
                key_pem: private_key_pem(&key)?,
                der: der.clone(),
            },
        );
        let crt = paths(&pki, s.name).0;
        cas.insert(
            s.name,
            CaSrc::Loaded(Box::new(Ca::new(s.name, crt, der, Some(key)))),
        );
    }
    let signed_leaves: Vec<Signed> = gen_leaves
        .par_iter()
        .zip(leaf_keys.into_par_iter())
        .map(|(s, key)| {
            let ca_name = s.ca.unwrap_or("ca");
            match cas.get(ca_name) {
                Some(CaSrc::Loaded(ca)) => sign_one(ctx, s, &key, Some(ca)),
                _ => Err(PkiError::Missing {
                    path: disp(&paths(&pki, ca_name).0),
                }),
            }
        })
        .collect::<Result<_, _>>()?;
    let mut new_leaf_files: HashMap<&'static str, Signed> = gen_leaves
        .iter()
        .map(|s| s.name)
        .zip(signed_leaves)
        .collect();
    let missing = |name: &str| PkiError::Crypto {
        what: format!("signing {name}"),
        reason: "no result".into(),
    };
    for step in steps {
        match step {
            Step::GenCa(s) => {
                let phase = format!("certs/{}", s.subphase);
                ctx.events.log(
                    &phase,
                    format!("Generating {:?} certificate and key", s.name),
                );
                let signed = new_ca_files.remove(s.name).ok_or_else(|| missing(s.name))?;
                let (crt, kp) = paths(&pki, s.name);
                batch.file(&kp, signed.key_pem.as_bytes(), KEY_MODE);
                batch.file(
                    &crt,
                    pem_encode("CERTIFICATE", &signed.der).as_bytes(),
                    CERT_MODE,
                );
                batch.cert(s.name, &crt, &signed.der, false);
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
                            format!("Using existing {} keyless certificate authority", s.name),
                        );
                    }
                    batch.cert(s.name, &ca.cert_path, &ca.cert_der, true);
                }
                record_pin(ctx, s.name, &cas);
            }
            Step::GenLeaf(s) => {
                let phase = format!("certs/{}", s.subphase);
                ctx.events.log(
                    &phase,
                    format!("Generating {:?} certificate and key", s.name),
                );
                if s.name == "apiserver" {
                    for bad in spec::invalid_cert_sans(&ctx.cfg) {
                        ctx.events.warn(
                            &phase,
                            format!(
                                "apiServer.certSANs: {bad:?} is neither an IP address nor a DNS name; skipping it"
                            ),
                        );
                    }
                }
                if matches!(s.usage, Usage::Server | Usage::ServerClient) {
                    let sans = s.expected_sans(&ctx.cfg)?;
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
                let signed = new_leaf_files
                    .remove(s.name)
                    .ok_or_else(|| missing(s.name))?;
                let (crt, kp) = paths(&pki, s.name);
                batch.file(&kp, signed.key_pem.as_bytes(), KEY_MODE);
                batch.file(
                    &crt,
                    pem_encode("CERTIFICATE", &signed.der).as_bytes(),
                    CERT_MODE,
                );
                batch.cert(s.name, &crt, &signed.der, false);
            }
            Step::UseLeaf(s, der) => {
                let phase = format!("certs/{}", s.subphase);
                ctx.events.log(
                    &phase,
                    format!("Using existing {} certificate and key on disk", s.name),
                );
                batch.cert(s.name, &paths(&pki, s.name).0, &der, true);
            }
            Step::GenSa => {
                ctx.events
                    .log("certs/sa", "Generating \"sa\" key and public key");
                let key = sa_key.as_ref().ok_or_else(|| missing("sa"))?;
                batch.file(
                    &pki.join("sa.key"),
                    private_key_pem(key)?.as_bytes(),
                    KEY_MODE,
                );
                batch.file(
                    &pki.join("sa.pub"),
                    public_key_pem(key).as_bytes(),
                    KEY_MODE,
                );
            }
            Step::UseSa(key, write_pub) => {
                ctx.events.log("certs/sa", "Using the existing \"sa\" key");
                if write_pub {
                    batch.file(
                        &pki.join("sa.pub"),
                        public_key_pem(&key).as_bytes(),
                        KEY_MODE,
                    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subphases_follow_the_certificate_table() {
        let names: Vec<&str> = SUBPHASES.iter().map(|(n, _)| *n).collect();
        let mut table: Vec<&str> = spec::CERTS.iter().map(|c| c.subphase).collect();
        table.push("sa");
        assert_eq!(names, table);
        for c in spec::CERTS {
            let d = SUBPHASES
                .iter()
                .find(|(n, _)| *n == c.subphase)
                .map(|x| x.1);
            assert_eq!(d, Some(c.description), "{}", c.name);
            // Every leaf's CA comes earlier in the table.
            if let Some(ca) = c.ca {
                let ca_pos = spec::CERTS.iter().position(|x| x.name == ca);
                let pos = spec::CERTS.iter().position(|x| x.name == c.name);
                assert!(ca_pos < pos, "{}", c.name);
            }
        }
    }
}
