//! Key pairs: the `encryptionAlgorithm` values, generation (in parallel with rayon),
//! PEM encodings as kubeadm writes them (PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`,
//! PKIX `PUBLIC KEY`), loading existing keys, and a background [`KeyPool`].
//!
//! Mirrors `app/util/pkiutil/pki_helpers.go` (`GeneratePrivateKey`) and client-go's
//! `keyutil.MarshalPrivateKeyToPEM`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rcgen::{KeyPair, PublicKeyData, RsaKeySize, SignatureAlgorithm};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};

use super::{PkiError, der, pem_encode};

/// DER of the `prime256v1` OID element.
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the `secp384r1` OID element.
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// `ClusterConfiguration.encryptionAlgorithm`: the key type of every generated key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EcdsaP256,
    EcdsaP384,
}

impl KeyAlgorithm {
    /// All values, in kubeadm's documentation order.
    pub const ALL: [KeyAlgorithm; 5] = [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa3072,
        KeyAlgorithm::Rsa4096,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
    ];

    /// Parses `RSA-2048`, `RSA-3072`, `RSA-4096`, `ECDSA-P256`, `ECDSA-P384` (exact case, as
    /// kubeadm's validation demands); empty means the default `RSA-2048`.
    /// Errors with [`PkiError::Config`] naming `encryptionAlgorithm`.
    pub fn parse(s: &str) -> Result<Self, PkiError> {
        match s {
            "" | "RSA-2048" => Ok(KeyAlgorithm::Rsa2048),
            "RSA-3072" => Ok(KeyAlgorithm::Rsa3072),
            "RSA-4096" => Ok(KeyAlgorithm::Rsa4096),
            "ECDSA-P256" => Ok(KeyAlgorithm::EcdsaP256),
            "ECDSA-P384" => Ok(KeyAlgorithm::EcdsaP384),
            _ => Err(PkiError::Config {
                field: "encryptionAlgorithm",
                value: s.to_string(),
                rule: "must be one of RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384".into(),
            }),
        }
    }

    /// The kubeadm spelling, e.g. `ECDSA-P256`.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "RSA-2048",
            KeyAlgorithm::Rsa3072 => "RSA-3072",
            KeyAlgorithm::Rsa4096 => "RSA-4096",
            KeyAlgorithm::EcdsaP256 => "ECDSA-P256",
            KeyAlgorithm::EcdsaP384 => "ECDSA-P384",
        }
    }

    /// The rcgen signature algorithm used with keys of this type (SHA-256 for RSA and P-256,
    /// SHA-384 for P-384, as Go's x509 picks).
    pub fn signature_algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                &rcgen::PKCS_RSA_SHA256
            }
            KeyAlgorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }

    /// Generates one key pair. Errors: [`PkiError::Crypto`] from the crypto library.
    pub fn generate(self) -> Result<KeyPair, PkiError> {
        let r = match self {
            KeyAlgorithm::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048)
            }
            KeyAlgorithm::Rsa3072 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_3072)
            }
            KeyAlgorithm::Rsa4096 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_4096)
            }
            KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyAlgorithm::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        };
        r.map_err(|e| PkiError::Crypto {
            what: format!("generating a {} key", self.name()),
            reason: e.to_string(),
        })
    }

    /// Generates `n` independent key pairs in parallel on all cores (rayon).
    pub fn generate_many(self, n: usize) -> Result<Vec<KeyPair>, PkiError> {
        (0..n).into_par_iter().map(|_| self.generate()).collect()
    }
}

/// The algorithm name of a key pair as events show it (`RSA-2048`, `ECDSA-P256`, …);
/// RSA sizes other than the three generated ones show as `RSA-<bits>`.
pub fn describe_key(key: &KeyPair) -> String {
    let alg = key.algorithm();
    if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        "ECDSA-P256".into()
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        "ECDSA-P384".into()
    } else if alg == &rcgen::PKCS_ECDSA_P521_SHA512 {
        "ECDSA-P521".into()
    } else if alg == &rcgen::PKCS_ED25519 {
        "Ed25519".into()
    } else {
        match der::rsa_modulus_bits(key.der_bytes()) {
            Ok(bits) => format!("RSA-{bits}"),
            Err(_) => "RSA".into(),
        }
    }
}

/// The private key as kubeadm writes it: PEM `RSA PRIVATE KEY` (PKCS#1) for RSA keys,
/// `EC PRIVATE KEY` (SEC1, with the named curve and public key) for ECDSA keys.
///
/// Takes a key generated by [`KeyAlgorithm::generate`] (rcgen holds it as PKCS#8) or loaded
/// from PKCS#8. Errors: [`PkiError::Crypto`] for other key types.
pub fn private_key_pem(key: &KeyPair) -> Result<String, PkiError> {
    let fail = |reason: String| PkiError::Crypto {
        what: "encoding the private key".into(),
        reason,
    };
    let pkcs8 = key.serialized_der();
    let alg = key.algorithm();
    let inner = match der::pkcs8_private_key(pkcs8) {
        Ok(inner) => inner,
        // Already PKCS#1 / SEC1 (a key loaded from such a file): keep it as it is.
        Err(_) if alg == &rcgen::PKCS_RSA_SHA256 => {
            return Ok(pem_encode("RSA PRIVATE KEY", pkcs8));
        }
        Err(_) => return Ok(pem_encode("EC PRIVATE KEY", pkcs8)),
    };
    if alg == &rcgen::PKCS_ECDSA_P256_SHA256 || alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        let oid = if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
            OID_P256
        } else {
            OID_P384
        };
        let sec1 = der::sec1_with_params(inner, oid, key.der_bytes()).map_err(fail)?;
        Ok(pem_encode("EC PRIVATE KEY", &sec1))
    } else if alg == &rcgen::PKCS_RSA_SHA256 {
        Ok(pem_encode("RSA PRIVATE KEY", inner))
    } else {
        Err(fail(format!("unsupported key type {}", describe_key(key))))
    }
}

/// The public key as PEM `PUBLIC KEY` (PKIX SubjectPublicKeyInfo), as `sa.pub` holds it.
pub fn public_key_pem(key: &KeyPair) -> String {
    pem_encode("PUBLIC KEY", &key.subject_public_key_info())
}

/// Loads a private key from PEM: `RSA PRIVATE KEY`, `EC PRIVATE KEY` or `PRIVATE KEY`
/// (PKCS#8). `path` only names the file in errors ([`PkiError::Corrupt`]).
pub fn load_private_key(pem_bytes: &[u8], path: &str) -> Result<KeyPair, PkiError> {
    let corrupt = |reason: String| PkiError::Corrupt {
        path: path.to_string(),
        reason,
    };
    let blocks = pem::parse_many(pem_bytes).map_err(|e| corrupt(format!("not PEM: {e}")))?;
    let block = blocks
        .iter()
        .find(|b| b.tag().ends_with("PRIVATE KEY"))
        .ok_or_else(|| corrupt("not PEM: no complete PRIVATE KEY block found".into()))?;
    let data = block.contents().to_vec();
    let der = match block.tag() {
        "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(data)),
        "EC PRIVATE KEY" => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(data)),
        "PRIVATE KEY" => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(data)),
        other => return Err(corrupt(format!("unsupported key block {other:?}"))),
    };
    KeyPair::try_from(&der).map_err(|e| corrupt(format!("private key does not parse: {e}")))
}

#[derive(Debug, Default)]
struct PoolState {
    ready: Vec<KeyPair>,
    /// Keys the workers generated, and generations that failed (those keys never come).
    produced: usize,
    failed: usize,
}

#[derive(Debug)]
struct PoolShared {
    state: Mutex<PoolState>,
    changed: Condvar,
    stop: AtomicBool,
    /// Keys generated or being generated so far (never more than the target).
    planned: AtomicUsize,
    /// Keys handed out from the ready stock so far.
    served: AtomicUsize,
}

/// Pre-generates `target` key pairs of one algorithm in background threads, so that issuing
/// the PKI only signs. The wizard starts one while the user is typing; the certs and kubeconfig
/// phases take keys from it (through `PhaseCtx::key_pool`) when its algorithm matches
/// `encryptionAlgorithm`. Dropping the pool stops its threads after their current key.
#[derive(Debug)]
pub struct KeyPool {
    algorithm: KeyAlgorithm,
    target: usize,
    shared: Arc<PoolShared>,
}

impl KeyPool {
    /// Keys one `kubestrap init` needs: 11 for the certs phase (10 certificates + sa) and 5
    /// for the kubeconfig phase.
    pub const INIT_KEYS: usize = 16;

    /// Starts a pool that generates `target` keys of `algorithm` on `min(cores, target)`
    /// background threads (which end when done or when the pool is dropped).
    pub fn start(algorithm: KeyAlgorithm, target: usize) -> Arc<KeyPool> {
        let shared = Arc::new(PoolShared {
            state: Mutex::new(PoolState::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            planned: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
        });
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(target.max(1));
        for _ in 0..threads {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || pool_worker(shared, algorithm, target));
        }
        Arc::new(KeyPool {
            algorithm,
            target,
            shared,
        })
    }

    /// The algorithm of the keys in this pool.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// How many keys are ready now.
    pub fn ready(&self) -> usize {
        self.shared.state.lock().map(|s| s.ready.len()).unwrap_or(0)
    }

    /// How many keys were handed out from the ready stock (not generated on demand) so far.
    pub fn served(&self) -> usize {
        self.shared.served.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` keys (at most the target) are ready or `timeout` passes;
    /// returns whether they are.
    pub fn wait_ready(&self, n: usize, timeout: Duration) -> bool {
        let n = n.min(self.target);
        let deadline = Instant::now() + timeout;
        let Ok(mut st) = self.shared.state.lock() else {
            return false;
        };
        while st.ready.len() < n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            match self.shared.changed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => st = g,
                Err(_) => return false,
            }
        }
        true
    }

    /// Takes `n` keys: the ready ones, waiting for the ones the workers are still generating
    /// (rather than generating more beside them on the same cores), and generates what the
    /// pool will not provide now in parallel (rayon). The pool generates `target` keys in
    /// all and does not refill.
    pub fn take(&self, n: usize) -> Result<Vec<KeyPair>, PkiError> {
        let poisoned = || PkiError::Crypto {
            what: "key pool".into(),
            reason: "a generator thread panicked".into(),
        };
        let mut keys = {
            let mut st = self.shared.state.lock().map_err(|_| poisoned())?;
            // A worker that cannot finish a key gives up; do not wait forever for it.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let to_come = self.target.saturating_sub(st.produced + st.failed);
                let now = Instant::now();
                if st.ready.len() >= n || to_come == 0 || now >= deadline {
                    break;
                }
                st = self
                    .shared
                    .changed
                    .wait_timeout(st, deadline - now)
                    .map_err(|_| poisoned())?
                    .0;
            }
            let k = st.ready.len().min(n);
            let at = st.ready.len() - k;
            let taken = st.ready.split_off(at);
            self.shared.served.fetch_add(k, Ordering::SeqCst);
            self.shared.changed.notify_all();
            taken
        };
        if keys.len() < n {
            keys.extend(self.algorithm.generate_many(n - keys.len())?);
        }
        Ok(keys)
    }
}

impl Drop for KeyPool {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
    }
}

fn pool_worker(shared: Arc<PoolShared>, algorithm: KeyAlgorithm, target: usize) {
    // Each worker reserves a slot, generates one key, and stops once `target` keys were
    // generated in all (the pool does not refill: a new algorithm means a new pool).
    while !shared.stop.load(Ordering::SeqCst)
        && shared
            .planned
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| {
                (p < target).then_some(p + 1)
            })
            .is_ok()
    {
        let Ok(key) = algorithm.generate() else {
            if let Ok(mut st) = shared.state.lock() {
                st.failed += 1;
            }
            shared.changed.notify_all();
            return;
        };
        let Ok(mut st) = shared.state.lock() else {
            return;
        };
        st.ready.push(key);
        st.produced += 1;
        shared.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip() {
        for a in KeyAlgorithm::ALL {
            assert_eq!(KeyAlgorithm::parse(a.name()).unwrap(), a);
        }
        let e = KeyAlgorithm::parse("rsa-2048").unwrap_err().to_string();
        assert!(
            e.contains("encryptionAlgorithm") && e.contains("rsa-2048"),
            "{e}"
        );
    }

    #[test]
    fn ec_keys_reload_from_sec1() {
        for a in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384] {
            let k = a.generate().unwrap();
            let pem = private_key_pem(&k).unwrap();
            assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
            let back = load_private_key(pem.as_bytes(), "k").unwrap();
            assert_eq!(back.der_bytes(), k.der_bytes());
            assert_eq!(describe_key(&back), a.name());
        }
    }

    #[test]
    fn pool_hands_out_ready_and_fresh_keys() {
        let pool = KeyPool::start(KeyAlgorithm::EcdsaP256, 3);
        assert!(pool.wait_ready(3, Duration::from_secs(10)));
        let keys = pool.take(5).unwrap();
        assert_eq!(keys.len(), 5);
        let mut pubs: Vec<_> = keys.iter().map(|k| k.der_bytes().to_vec()).collect();
        pubs.sort();
        pubs.dedup();
        assert_eq!(pubs.len(), 5, "keys must be distinct");
        assert_eq!(pool.ready(), 0, "the pool does not refill");
        assert_eq!(pool.served(), 3);
    }
}
