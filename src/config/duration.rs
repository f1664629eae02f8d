//! Go-style durations (`4m0s`, `24h0m0s`, `500ms`), as kubeadm's `metav1.Duration` reads
//! and writes them.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration that serialises like Go's `time.Duration.String()` (e.g. `4m0s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(pub Duration);

/// Error from [`GoDuration::parse`]: names the input and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (expected a Go duration such as 4m0s, 24h or 500ms)")]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

impl GoDuration {
    /// Builds a duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        GoDuration(Duration::from_secs(secs))
    }

    /// Parses Go's duration syntax: a sequence of decimal numbers with units
    /// `ns`, `us`/`µs`, `ms`, `s`, `m`, `h` (`1h30m`, `1.5s`, `0`). Negative values are refused.
    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let err = |reason| DurationError {
            input: input.to_string(),
            reason,
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        if s.starts_with('-') {
            return Err(err("negative durations are not allowed"));
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        if s == "0" {
            return Ok(GoDuration(Duration::ZERO));
        }
        let mut total: f64 = 0.0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| err("missing unit"))?;
            if num_len == 0 {
                return Err(err("expected a number"));
            }
            let value: f64 = rest[..num_len].parse().map_err(|_| err("bad number"))?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let factor = match &rest[..unit_len] {
                "ns" => 1e-9,
                "us" | "µs" | "μs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(err("unknown unit")),
            };
            total += value * factor;
            rest = &rest[unit_len..];
        }
        if !total.is_finite() || total > 1e15 {
            return Err(err("out of range"));
        }
        Ok(GoDuration(Duration::from_secs_f64(total)))
    }

    /// The wrapped std duration.
    pub fn as_std(&self) -> Duration {
        self.0
    }
}

impl fmt::Display for GoDuration {
    /// Formats as Go's `Duration.String()`: `0s`, `500ms`, `1.5s`, `4m0s`, `24h0m0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        if nanos < 1_000_000_000 {
            let (div, unit) = if nanos < 1_000 {
                (1u128, "ns")
            } else if nanos < 1_000_000 {
                (1_000, "µs")
            } else {
                (1_000_000, "ms")
            };
            return write!(f, "{}{}", frac(nanos, div), unit);
        }
        let total_secs = nanos / 1_000_000_000;
        let sub = nanos % 1_000_000_000;
        let h = total_secs / 3600;
        let m = (total_secs % 3600) / 60;
        let s = total_secs % 60;
        let secs = frac(s * 1_000_000_000 + sub, 1_000_000_000);
        if h > 0 {
            write!(f, "{h}h{m}m{secs}s")
        } else if m > 0 {
            write!(f, "{m}m{secs}s")
        } else {
            write!(f, "{secs}s")
        }
    }
}

/// `value / div` as a decimal without trailing zeros.
fn frac(value: u128, div: u128) -> String {
    let whole = value / div;
    let rem = value % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GoDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        for (secs, want) in [
            (240, "4m0s"),
            (86400, "24h0m0s"),
            (315_360_000, "87600h0m0s"),
            (0, "0s"),
            (5, "5s"),
        ] {
            assert_eq!(GoDuration::from_secs(secs).to_string(), want);
        }
        assert_eq!(GoDuration(Duration::from_millis(500)).to_string(), "500ms");
        assert_eq!(GoDuration(Duration::from_millis(1500)).to_string(), "1.5s");
    }

    #[test]
    fn parses_go_syntax() {
        assert_eq!(
            GoDuration::parse("4m0s").unwrap(),
            GoDuration::from_secs(240)
        );
        assert_eq!(
            GoDuration::parse("24h").unwrap(),
            GoDuration::from_secs(86400)
        );
        assert_eq!(
            GoDuration::parse("1h30m").unwrap(),
            GoDuration::from_secs(5400)
        );
        assert_eq!(
            GoDuration::parse("500ms").unwrap().0,
            Duration::from_millis(500)
        );
        assert!(GoDuration::parse("4 minutes").is_err());
        assert!(GoDuration::parse("-1s").is_err());
        assert!(GoDuration::parse("").is_err());
    }
}
