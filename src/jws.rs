//! Detached HS256 JWS as the cluster-bootstrap library computes it for `cluster-info`
//! (`kubernetes/cluster-bootstrap: token/jws/jws.go`, RFC 7515 appendix F).
//!
//! The kube-controller-manager's bootstrap signer stores, for each signing token, the value
//! `b64url(header) + ".." + b64url(HMAC-SHA256(secret, b64url(header) + "." + b64url(content)))`
//! under `jws-kubeconfig-<token-id>`; `kubeadm join` recomputes it to trust cluster-info.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The protected header bytes for `token_id`, exactly as cluster-bootstrap encodes them
/// (`{"alg":"HS256","kid":"<id>"}`, that key order, no spaces).
fn header(token_id: &str) -> String {
    // serde_json keeps the escaping identical to Go's for token ids ([a-z0-9]).
    format!(
        "{{\"alg\":\"HS256\",\"kid\":{}}}",
        serde_json::Value::String(token_id.to_string())
    )
}

fn mac(token_secret: &str, signing_input: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(token_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    m.update(signing_input.as_bytes());
    m
}

/// Computes the detached JWS of `content` (the exact kubeconfig string) with the token's id
/// and secret. Returns `"<b64url header>..<b64url signature>"`.
pub fn compute_detached_signature(content: &str, token_id: &str, token_secret: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(header(token_id));
    let input = format!("{h}.{}", URL_SAFE_NO_PAD.encode(content));
    let sig = mac(token_secret, &input).finalize().into_bytes();
    format!("{h}..{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Checks a detached JWS against `content`, the token id and secret: the header must be the
/// exact header cluster-bootstrap produces for `token_id` and the HMAC is compared in
/// constant time. Returns `false` on any malformed input (never panics).
pub fn verify_detached_signature(
    content: &str,
    signature: &str,
    token_id: &str,
    token_secret: &str,
) -> bool {
    let mut parts = signature.split('.');
    let (Some(h), Some(mid), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if !mid.is_empty() || h != URL_SAFE_NO_PAD.encode(header(token_id)) {
        return false;
    }
    let Ok(sig) = URL_SAFE_NO_PAD.decode(s) else {
        return false;
    };
    let input = format!("{h}.{}", URL_SAFE_NO_PAD.encode(content));
    mac(token_secret, &input).verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTENT: &str = "Hello from the other side. I must have called a thousand times.";

    #[test]
    fn cluster_bootstrap_vectors() {
        let h = "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9";
        let cases = [
            (
                CONTENT,
                "my voice is my passcode",
                "VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8",
            ),
            (
                "",
                "my voice is my passcode",
                "7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk",
            ),
            (CONTENT, "", "UfkqvDGiIFxrMnFseDj9LYJOLNrvjW8aHhF71mvvAs8"),
        ];
        for (content, secret, sig) in cases {
            let want = format!("{h}..{sig}");
            assert_eq!(compute_detached_signature(content, "joshua", secret), want);
            assert!(verify_detached_signature(content, &want, "joshua", secret));
        }
    }

    #[test]
    fn verify_rejects_tampering() {
        let good = compute_detached_signature(CONTENT, "joshua", "my voice is my passcode");
        let secret = "my voice is my passcode";
        assert!(!verify_detached_signature(
            CONTENT,
            &format!("{good}foo"),
            "joshua",
            secret
        ));
        assert!(!verify_detached_signature("other", &good, "joshua", secret));
        assert!(!verify_detached_signature(CONTENT, &good, "abcdef", secret));
        assert!(!verify_detached_signature(
            CONTENT, &good, "joshua", "wrong"
        ));
        assert!(!verify_detached_signature(CONTENT, "", "joshua", secret));
        assert!(!verify_detached_signature(
            CONTENT, "a.b.c", "joshua", secret
        ));
        // A signature with a non-empty payload part is not a detached JWS.
        let (h, s) = good.split_once("..").unwrap();
        assert!(!verify_detached_signature(
            CONTENT,
            &format!("{h}.x.{s}"),
            "joshua",
            secret
        ));
    }
}
