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

/// One event as a single JSON line (no trailing newline).
pub fn format(ev: &Event) -> String {
    serde_json::to_string(ev).unwrap_or_else(|e| {
        serde_json::json!({"event": "log", "level": "error", "phase": null,
            "message": format!("cannot encode event: {e}")})
        .to_string()
    })
}
