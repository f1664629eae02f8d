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

/// Which secrets a face shows: `--show-secrets` shows both, `--skip-token-print` and
/// `--skip-certificate-key-print` withhold one even then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShownSecrets {
    /// The bootstrap token's secret.
    pub token: bool,
    /// The certificate key of `--upload-certs`.
    pub certificate_key: bool,
}

impl ShownSecrets {
    /// From the command line: `--show-secrets`, `--skip-token-print`,
    /// `--skip-certificate-key-print`.
    pub fn from_flags(show: bool, skip_token: bool, skip_certificate_key: bool) -> Self {
        ShownSecrets {
            token: show && !skip_token,
            certificate_key: show && !skip_certificate_key,
        }
    }
}

/// [`shown`] per secret: the token and the certificate key each withheld unless `s` shows it.
pub fn shown_parts(ev: &Event, s: ShownSecrets) -> std::borrow::Cow<'_, Event> {
    use crate::engine::event::CERTIFICATE_KEY_LOG;
    use std::borrow::Cow;
    if s.token == s.certificate_key {
        return shown(ev, s.token);
    }
    match ev {
        Event::JoinReady(info) => Cow::Owned(Event::JoinReady(
            info.with_secrets(s.token, s.certificate_key),
        )),
        Event::Log {
            level,
            phase,
            message,
        } if message.starts_with(CERTIFICATE_KEY_LOG) => {
            if s.certificate_key {
                Cow::Borrowed(ev)
            } else {
                Cow::Owned(Event::Log {
                    level: *level,
                    phase: phase.clone(),
                    message: format!(
                        "{CERTIFICATE_KEY_LOG}\n{} (withheld: --skip-certificate-key-print)",
                        crate::engine::event::REDACTED
                    ),
                })
            }
        }
        // Every other secret is the token's (its log line, the bootstrap token Secret).
        _ => shown(ev, s.token),
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
