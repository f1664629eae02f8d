//! The JSON-lines face: one [`Event`] per line, serialised with serde (schema version 1).
//!
//! Every line is an object with `"event"` naming the kind (`phase_started`,
//! `phase_finished`, `phase_skipped`, `phase_failed`, `check`, `cert`, `file_written`,
//! `probe`, `readyz_check`, `would_apply`, `log`, `join_ready`, `finished`) and the kind's
//! fields in snake_case. The README documents each kind; new fields may be added, existing
//! ones are never renamed or removed within schema version 1.

use crate::engine::Event;

/// Schema version of the JSON lines.
pub const SCHEMA_VERSION: u32 = 1;

/// One event as a single JSON line (no trailing newline). Events with secrets carry
/// `"secret_fields"`, the names of the fields that hold them (`join_ready`: `token`,
/// `certificate_key`; `would_apply` of a Secret: `yaml`; the upload-certs and bootstrap-token `log` lines: `message`).
/// Whether those fields are redacted is the caller's choice ([`Event::redacted`]).
pub fn format(ev: &Event) -> String {
    let secret = ev.secret_fields();
    let value = serde_json::to_value(ev).map(|mut v| {
        if !secret.is_empty()
            && let Some(o) = v.as_object_mut()
        {
            o.insert("secret_fields".into(), serde_json::json!(secret));
        }
        v
    });
    value
        .and_then(|v| serde_json::to_string(&v))
        .unwrap_or_else(|e| {
            serde_json::json!({"event": "log", "level": "error", "phase": null,
            "message": format!("cannot encode event: {e}")})
            .to_string()
        })
}

/// The `finished` line of a dry run that a real run would not get through: status
/// `dry_run_finished` (never `succeeded`) with the phase a real run would stop in and the
/// preflight checks that would stop it, by name.
pub fn dry_run_would_stop(phase: &str, checks: &[String]) -> String {
    serde_json::json!({
        "event": "finished",
        "outcome": {
            "status": "dry_run_finished",
            "real_run_would_stop_in": phase,
            "errors": checks,
        }
    })
    .to_string()
}
