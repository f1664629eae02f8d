//! Bootstrap tokens: format, parsing and generation
//! (`kubernetes/cluster-bootstrap: token/util/helpers.go`, `token/api/types.go`).

use rand::{Rng, TryRngCore};

/// The 36-symbol alphabet kubeadm draws token characters from.
pub const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A parsed bootstrap token `<id>.<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct BootstrapTokenString {
    /// 6 characters of `[a-z0-9]`, public (Secret name, JWS `kid`).
    pub id: String,
    /// 16 characters of `[a-z0-9]`, secret.
    pub secret: String,
}

impl std::fmt::Debug for BootstrapTokenString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BootstrapTokenString({}.<redacted>)", self.id)
    }
}

impl std::fmt::Display for BootstrapTokenString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.id, self.secret)
    }
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_lowercase()
}

/// True when `id` matches `\A[a-z0-9]{6}\z`.
pub fn is_valid_token_id(id: &str) -> bool {
    id.len() == 6 && id.bytes().all(is_token_char)
}

impl BootstrapTokenString {
    /// Parses `\A([a-z0-9]{6})\.([a-z0-9]{16})\z`. The error names the rule (never the secret).
    pub fn parse(token: &str) -> Result<Self, String> {
        let rule =
            "a bootstrap token must match [a-z0-9]{6}.[a-z0-9]{16}, e.g. abcdef.0123456789abcdef";
        let (id, secret) = token.split_once('.').ok_or_else(|| rule.to_string())?;
        if !is_valid_token_id(id) || secret.len() != 16 || !secret.bytes().all(is_token_char) {
            return Err(rule.to_string());
        }
        Ok(BootstrapTokenString {
            id: id.to_string(),
            secret: secret.to_string(),
        })
    }

    /// Generates a token from the OS CSPRNG, each character uniform over [`ALPHABET`].
    pub fn generate() -> Self {
        BootstrapTokenString {
            id: random_string(6),
            secret: random_string(16),
        }
    }

    /// The Secret name holding this token: `bootstrap-token-<id>`.
    pub fn secret_name(&self) -> String {
        format!("bootstrap-token-{}", self.id)
    }
}

/// `len` characters drawn uniformly (no modulo bias) from [`ALPHABET`] with the OS CSPRNG.
pub fn random_string(len: usize) -> String {
    let mut rng = rand::rngs::OsRng.unwrap_err();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_format_cases() {
        for ok in [
            "abcdef.1234567890123456",
            "123456.aabbccddeeffgghh",
            "772ef5.6b6baab1d4a0a171",
        ] {
            assert!(BootstrapTokenString::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "Abcdef.1234567890123456",
            "ABCDEF.abcdef0123456789",
            "123456.AABBCCDDEEFFGGHH",
            "abcdef:1234567890123456",
            "12345.1234567890123456",
            ".1234567890123456",
            "123456.",
            "",
            ".",
            "abc*ef.1234567890123456",
            "abcdef.1234567890123456@foobar",
        ] {
            assert!(BootstrapTokenString::parse(bad).is_err(), "{bad}");
        }
        for n in [0, 1, 2, 3, 100] {
            assert_eq!(random_string(n).len(), n);
        }
        let t = BootstrapTokenString::generate();
        assert!(BootstrapTokenString::parse(&t.to_string()).is_ok());
        assert_eq!(
            BootstrapTokenString::parse("abcdef.1234567890123456")
                .unwrap()
                .secret_name(),
            "bootstrap-token-abcdef"
        );
    }
}
