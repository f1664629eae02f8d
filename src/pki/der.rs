//! A few lines of DER: enough to unwrap a PKCS#8 `PrivateKeyInfo` into the PKCS#1
//! (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) form kubeadm writes, and to read an RSA
//! modulus size. Only definite lengths and single-byte tags (all DER uses here).

/// One TLV element: tag byte, content, and the whole encoded element.
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and the rest.
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), String> {
    let tag = *input.first().ok_or("DER: unexpected end")?;
    let first = *input.get(1).ok_or("DER: missing length")?;
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err("DER: unsupported length".into());
        }
        let bytes = input.get(2..2 + n).ok_or("DER: truncated length")?;
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | *b as usize),
            2 + n,
        )
    };
    let end = hdr.checked_add(len).ok_or("DER: length overflow")?;
    if input.len() < end {
        return Err("DER: truncated element".into());
    }
    Ok((
        Tlv {
            tag,
            content: &input[hdr..end],
            raw: &input[..end],
        },
        &input[end..],
    ))
}

/// All elements of a constructed value's content.
pub(crate) fn children(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, String> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (t, rest) = read(content)?;
        out.push(t);
        content = rest;
    }
    Ok(out)
}

/// Encodes one element.
pub(crate) fn write(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The `privateKey` OCTET STRING content of a PKCS#8 `PrivateKeyInfo`.
pub(crate) fn pkcs8_private_key(pkcs8: &[u8]) -> Result<&[u8], String> {
    let (seq, _) = read(pkcs8)?;
    let items = children(seq.content)?;
    match items.get(2) {
        Some(t) if seq.tag == 0x30 && t.tag == 0x04 => Ok(t.content),
        _ => Err("not a PKCS#8 PrivateKeyInfo".into()),
    }
}

/// Rebuilds a SEC1 `ECPrivateKey` with the named-curve parameters (`[0]`) and the public key
/// (`[1]`) present, as OpenSSL and Go write `EC PRIVATE KEY`.
/// `inner` is the ECPrivateKey from inside PKCS#8 (parameters usually omitted there),
/// `curve_oid` the encoded OID element, `public_point` the uncompressed point.
pub(crate) fn sec1_with_params(
    inner: &[u8],
    curve_oid: &[u8],
    public_point: &[u8],
) -> Result<Vec<u8>, String> {
    let (seq, _) = read(inner)?;
    let items = children(seq.content)?;
    let (version, key) = match (items.first(), items.get(1)) {
        (Some(v), Some(k)) if v.tag == 0x02 && k.tag == 0x04 => (v, k),
        _ => return Err("not an ECPrivateKey".into()),
    };
    let mut body = Vec::new();
    body.extend_from_slice(version.raw);
    body.extend_from_slice(key.raw);
    body.extend(write(0xa0, curve_oid));
    match items.iter().find(|t| t.tag == 0xa1) {
        Some(pk) => body.extend_from_slice(pk.raw),
        None => {
            let mut bits = vec![0u8];
            bits.extend_from_slice(public_point);
            body.extend(write(0xa1, &write(0x03, &bits)));
        }
    }
    Ok(write(0x30, &body))
}

/// Bit length of the modulus of a PKCS#1 `RSAPublicKey` (`SEQUENCE { n, e }`).
pub(crate) fn rsa_modulus_bits(pkcs1_public: &[u8]) -> Result<usize, String> {
    let (seq, _) = read(pkcs1_public)?;
    let items = children(seq.content)?;
    let n = items
        .first()
        .filter(|t| t.tag == 0x02)
        .ok_or("not an RSAPublicKey")?;
    let bytes: Vec<u8> = n.content.iter().copied().skip_while(|b| *b == 0).collect();
    let lead = bytes.first().copied().unwrap_or(0);
    Ok(bytes.len().saturating_sub(1) * 8 + (8 - lead.leading_zeros() as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_round_trip() {
        let content = vec![7u8; 300];
        let enc = write(0x04, &content);
        assert_eq!(&enc[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (t, rest) = read(&enc).unwrap();
        assert_eq!(t.content.len(), 300);
        assert!(rest.is_empty());
        assert!(read(&enc[..10]).is_err());
    }
}
