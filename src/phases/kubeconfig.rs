//! The `kubeconfig` phase: admin.conf, super-admin.conf, kubelet.conf,
//! controller-manager.conf and scheduler.conf in /etc/kubernetes, each with an embedded
//! client certificate signed by the cluster CA, written 0600.
//!
//! Existing files are checked first (CA data must equal ca.crt, the server must be the
//! expected one, the embedded client certificate must chain to the CA) and reused unchanged;
//! missing ones are generated (keys in parallel, or from `PhaseCtx::key_pool`). A failure
//! removes the files this run wrote.
//!
//! Mirrors `app/cmd/phases/init/kubeconfig.go` and `app/phases/kubeconfig/kubeconfig.go`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rayon::prelude::*;

use crate::engine::{PhaseCtx, PhaseError};
use crate::pki::issue::{Ca, check_leaf, disp, read};
use crate::pki::keys::private_key_pem;
use crate::pki::kubeconfig::{
    current_client, current_cluster, from_yaml, to_yaml, with_client_cert,
};
use crate::pki::spec::{KUBECONFIGS, KubeconfigSpec, Sans};
use crate::pki::{KeyAlgorithm, PkiError, client_cert, load_cert_pem, pem_encode};

use super::certs::{Batch, take_keys, to_phase_error};

/// Sub-phases of `kubeconfig` in kubeadm's order, with one-line descriptions.
pub const SUBPHASES: &[(&str, &str)] = &[
    (
        "admin",
        "Generate a kubeconfig file for the admin to use and for kubeadm itself",
    ),
    (
        "super-admin",
        "Generate a kubeconfig file for the super-admin",
    ),
    (
        "kubelet",
        "Generate a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes",
    ),
    (
        "controller-manager",
        "Generate a kubeconfig file for the controller manager to use",
    ),
    (
        "scheduler",
        "Generate a kubeconfig file for the scheduler to use",
    ),
];

/// Mode of kubeconfig files.
pub const KUBECONFIG_MODE: u32 = 0o600;

/// Real path of a kubeconfig file of this phase.
pub fn kubeconfig_path(ctx: &PhaseCtx, spec: &KubeconfigSpec) -> PathBuf {
    ctx.paths.kubernetes_dir.join(spec.file)
}

/// Runs one sub-phase of `kubeconfig` (`admin`, `super-admin`, `kubelet`,
/// `controller-manager`, `scheduler`) or all of them (`all`).
///
/// Needs `<pki>/ca.crt` (and `ca.key` unless every file already exists: external CA mode).
/// Sends `Event::Cert` for each client certificate issued or reused and `Event::FileWritten`
/// per file. Errors name the file and the mismatch (other CA, other server).
pub fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    let cfg = &ctx.cfg;
    let alg = KeyAlgorithm::parse(&cfg.cluster.encryption_algorithm).map_err(to_phase_error)?;
    let specs: Vec<&KubeconfigSpec> = if sub == "all" {
        ctx.events.log(
            "kubeconfig",
            format!(
                "Using kubeconfig folder {:?}",
                ctx.paths.kubernetes_dir.display().to_string()
            ),
        );
        KUBECONFIGS.iter().collect()
    } else {
        match KUBECONFIGS.iter().find(|k| k.subphase == sub) {
            Some(k) => vec![k],
            None => {
                let names: Vec<&str> = SUBPHASES.iter().map(|(n, _)| *n).collect();
                return Err(PhaseError::new(format!(
                    "unknown kubeconfig sub-phase {sub:?}; expected all or one of {}",
                    names.join(", ")
                )));
            }
        }
    };
    let ca = Ca::load(ctx.host.as_ref(), &ctx.paths.pki_dir, "ca").map_err(to_phase_error)?;
    let mut todo = Vec::new();
    let mut batch = Batch::default();
    for spec in specs {
        let path = kubeconfig_path(ctx, spec);
        let server = spec.server_url(cfg).map_err(to_phase_error)?;
        match read(ctx.host.as_ref(), &path).map_err(to_phase_error)? {
            Some(bytes) => {
                let der = check_existing(&bytes, &path, &ca, &server).map_err(to_phase_error)?;
                ctx.events.log(
                    &format!("kubeconfig/{}", spec.subphase),
                    format!("Using existing kubeconfig file: {:?}", disp(&path)),
                );
                if let Some(der) = der {
                    batch.cert(spec.file, &path, &der, true);
                }
            }
            None => {
                if ca.key.is_none() {
                    return Err(to_phase_error(PkiError::ExternalCaMissing {
                        ca_path: disp(&ca.cert_path),
                        missing: disp(&path),
                    }));
                }
                todo.push((spec, path, server));
            }
        }
    }
    let mut written = Vec::new();
    let result =
        write_all(ctx, alg, &ca, todo, &mut batch).and_then(|()| batch.flush(ctx, &mut written));
    if result.is_err() {
        for p in written.iter().rev() {
            let _ = ctx.host.remove_file(p);
        }
    }
    result.map_err(to_phase_error)
}

/// Checks an existing kubeconfig against the CA and the expected server; returns the
/// embedded client certificate's DER when there is one.
fn check_existing(
    bytes: &[u8],
    path: &Path,
    ca: &Ca,
    server: &str,
) -> Result<Option<Vec<u8>>, PkiError> {
    let p = disp(path);
    let k = from_yaml(bytes, &p)?;
    let (have_server, ca_pem) = current_cluster(&k, &p)?;
    let ca_der = load_cert_pem(&ca_pem, &format!("{p} (certificate-authority-data)"))?;
    if ca_der != ca.cert_der {
        return Err(PkiError::KubeconfigMismatch {
            path: p,
            reason: format!(
                "certificate-authority-data is a different CA than {}",
                disp(&ca.cert_path)
            ),
        });
    }
    if have_server != server {
        return Err(PkiError::KubeconfigMismatch {
            path: p,
            reason: format!("server is {have_server}, expected {server}"),
        });
    }
    match current_client(&k) {
        Some((cert_pem, _)) => {
            let der = load_cert_pem(&cert_pem, &format!("{p} (client-certificate-data)"))?;
            check_leaf(&der, path, ca, &Sans::default())?;
            Ok(Some(der))
        }
        None => Ok(None),
    }
}

fn write_all(
    ctx: &PhaseCtx,
    alg: KeyAlgorithm,
    ca: &Ca,
    todo: Vec<(&KubeconfigSpec, PathBuf, String)>,
    batch: &mut Batch,
) -> Result<(), PkiError> {
    let keys = take_keys(ctx, alg, todo.len())?;
    if keys.len() != todo.len() {
        return Err(PkiError::Crypto {
            what: "key generation".into(),
            reason: format!("{} keys for {} files", keys.len(), todo.len()),
        });
    }
    let validity = ctx
        .cfg
        .cluster
        .certificate_validity_period
        .map(|d| d.as_std())
        .unwrap_or(Duration::from_secs(8760 * 3600));
    // Sign the client certificates and build the files in parallel; write them in order.
    let built: Vec<(Vec<u8>, String)> = todo
        .par_iter()
        .zip(keys.into_par_iter())
        .map(|((spec, _, server), key)| {
            let user = spec.user(&ctx.cfg);
            let der = client_cert(
                ca,
                &user,
                spec.organizations,
                &key,
                ctx.started_at,
                validity,
            )?;
            let kc = with_client_cert(
                &ctx.cfg.cluster.cluster_name,
                server,
                &ca.cert_pem,
                &user,
                &pem_encode("CERTIFICATE", &der),
                &private_key_pem(&key)?,
            );
            Ok((der, to_yaml(&kc)?))
        })
        .collect::<Result<_, PkiError>>()?;
    for ((spec, path, _), (der, yaml)) in todo.iter().zip(built) {
        ctx.events.log(
            &format!("kubeconfig/{}", spec.subphase),
            format!("Writing {:?} kubeconfig file", spec.file),
        );
        batch.file(path, yaml.as_bytes(), KUBECONFIG_MODE);
        batch.cert(spec.file, path, &der, false);
    }
    Ok(())
}
