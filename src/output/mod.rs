//! The non-interactive faces: kubeadm-like plain text and JSON lines. Both turn engine
//! [`Event`]s into lines; neither does host I/O (they only write to the writer they get).

pub mod json;
pub mod text;

use std::io::Write;

use crate::cli::OutputFormat;
use crate::engine::Event;

/// Formats one event for `format`; `None` when the face prints nothing for it.
pub fn format_event(format: OutputFormat, ev: &Event) -> Option<String> {
    match format {
        OutputFormat::Text => text::format(ev),
        OutputFormat::Json => Some(json::format(ev)),
    }
}

/// The form of `ev` a face writes: [`Event::redacted`] unless the user asked for secrets
/// (`--show-secrets`).
pub fn shown(ev: &Event, show_secrets: bool) -> std::borrow::Cow<'_, Event> {
    if show_secrets || ev.secret_fields().is_empty() {
        std::borrow::Cow::Borrowed(ev)
    } else {
        std::borrow::Cow::Owned(ev.redacted())
    }
}

/// Reads events until the channel closes and writes each formatted event to `out`
/// (flushing per event; secrets redacted unless `show_secrets`). Returns the events seen
/// (for the caller's summary), unredacted.
pub async fn print_stream(
    format: OutputFormat,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
    out: &mut (dyn Write + Send),
    show_secrets: bool,
) -> Vec<Event> {
    let mut seen = Vec::new();
    while let Some(ev) = rx.recv().await {
        if let Some(line) = format_event(format, &shown(&ev, show_secrets)) {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        seen.push(ev);
    }
    seen
}
