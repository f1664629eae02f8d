//! What the wait writes to the log: changes and a summary every 10 s, not every probe.

use super::*;

/// While any component is unhealthy, one log line sums up the wait this often.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// What the wait writes to the log, decided from each round of attempts: one line when a
/// component's state changes (first answer, a different status or error, or a different
/// URL failing), and a summary of the components still waiting every `every`. Pure: the
/// caller passes the time elapsed, so a test can run a 4-minute wait on a fake clock.
#[derive(Debug)]
pub struct ProbeLog {
    every: Duration,
    last_summary: Duration,
    components: BTreeMap<String, ProbeState>,
}

#[derive(Debug)]
struct ProbeState {
    /// What a change is measured on: the URL and the status or error (not the body).
    key: String,
    /// The last answer as the log shows it.
    answer: String,
    attempts: u32,
    healthy: bool,
}

impl ProbeLog {
    /// A log that sums up every `every`.
    pub fn new(every: Duration) -> Self {
        ProbeLog {
            every,
            last_summary: Duration::ZERO,
            components: BTreeMap::new(),
        }
    }

    /// Records one round of attempts on `component` (`url` answered `outcome`; `attempt` is
    /// the attempt counter, `elapsed` the time since the wait began) and returns the lines to
    /// log: the change, if the state changed to a new unhealthy one (the healthy line is the
    /// caller's, with the time it took), and the summary when one is due.
    pub fn record(
        &mut self,
        component: &str,
        url: &str,
        outcome: &ProbeOutcome,
        attempt: u32,
        elapsed: Duration,
    ) -> Vec<String> {
        let healthy = *outcome == ProbeOutcome::Healthy;
        let key = match outcome {
            ProbeOutcome::Healthy => "healthy".to_string(),
            ProbeOutcome::Http { status, .. } => format!("{url} HTTP {status}"),
            ProbeOutcome::Error { message } => format!("{url} {message}"),
        };
        let answer = outcome_text(outcome);
        let mut lines = Vec::new();
        let st = self
            .components
            .entry(component.to_string())
            .or_insert_with(|| ProbeState {
                key: String::new(),
                answer: String::new(),
                attempts: 0,
                healthy: false,
            });
        if st.key != key && !healthy {
            lines.push(format!(
                "[control-plane-check] {component} at {url}: {answer} (attempt {attempt}, {})",
                secs(elapsed)
            ));
        }
        st.key = key;
        st.answer = answer;
        st.attempts = attempt;
        st.healthy = healthy;
        if elapsed >= self.last_summary + self.every {
            self.last_summary = elapsed;
            if let Some(s) = self.summary(elapsed) {
                lines.push(s);
            }
        }
        lines
    }

    /// `Still waiting after 40s: kube-apiserver (400 attempts, last: connection refused), …`
    /// for the components not healthy yet; `None` when none is waiting.
    pub fn summary(&self, elapsed: Duration) -> Option<String> {
        let waiting: Vec<String> = self
            .components
            .iter()
            .filter(|(_, s)| !s.healthy)
            .map(|(c, s)| format!("{c} ({} attempts, last: {})", s.attempts, s.answer))
            .collect();
        (!waiting.is_empty()).then(|| {
            format!(
                "[control-plane-check] Still waiting after {}: {}",
                secs(elapsed),
                waiting.join(", ")
            )
        })
    }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4-minute wait on a fake clock: three components probed every 100 ms until the
    /// timeout (the apiserver refused, then its readyz failing with one timed-out attempt,
    /// never healthy; the controller-manager and scheduler healthy late): the text face shows
    /// fewer than 40 lines, and every attempt stays an event for the health pane.
    #[test]
    fn a_four_minute_wait_logs_changes_and_summaries_not_probes() {
        use crate::engine::LogLevel;
        let refused = || ProbeOutcome::Error {
            message: "connection refused".into(),
        };
        let http = |status| ProbeOutcome::Http {
            status,
            body: "[-]etcd failed: reason withheld".into(),
        };
        // What component `c` answers at `ms` milliseconds: (url, outcome).
        let story = |c: &str, ms: u64| -> (String, ProbeOutcome) {
            let livez = format!("https://192.0.2.10:6443/{c}/livez");
            let readyz = format!("https://192.0.2.10:6443/{c}/readyz?verbose");
            match (c, ms) {
                ("kube-apiserver", 0..60_000) => (livez, refused()),
                ("kube-apiserver", 120_000..120_100) => (
                    livez,
                    ProbeOutcome::Error {
                        message: "timed out".into(),
                    },
                ),
                ("kube-apiserver", _) => (readyz, http(500)),
                ("kube-controller-manager", 0..100_000) => (livez, refused()),
                ("kube-scheduler", 0..50_000) => (livez, http(403)),
                _ => (livez, ProbeOutcome::Healthy),
            }
        };
        let mut log = ProbeLog::new(SUMMARY_INTERVAL);
        let mut events = Vec::new();
        let mut attempts: BTreeMap<&str, u32> = BTreeMap::new();
        let components = [
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
        ];
        let mut done: BTreeMap<&str, bool> = BTreeMap::new();
        for ms in (0..240_000u64).step_by(100) {
            for c in components {
                if done.get(c) == Some(&true) {
                    continue;
                }
                let (url, outcome) = story(c, ms);
                let n = attempts.entry(c).or_default();
                *n += 1;
                events.push(Event::Probe {
                    component: c.into(),
                    url: url.clone(),
                    attempt: *n,
                    outcome: outcome.clone(),
                    elapsed_ms: ms,
                    timeout_ms: 240_000,
                });
                for line in log.record(c, &url, &outcome, *n, Duration::from_millis(ms)) {
                    events.push(Event::Log {
                        level: LogLevel::Info,
                        phase: Some("wait-control-plane".into()),
                        message: line,
                    });
                }
                if outcome == ProbeOutcome::Healthy {
                    done.insert(c, true);
                    events.push(Event::Log {
                        level: LogLevel::Info,
                        phase: Some("wait-control-plane".into()),
                        message: format!("{c} is healthy after {}.000s", ms / 1000),
                    });
                }
            }
        }
        let probes = events
            .iter()
            .filter(|e| matches!(e, Event::Probe { .. }))
            .count();
        assert_eq!(probes, 2_400 + 1_001 + 501, "every attempt is an event");
        let text: Vec<String> = events
            .iter()
            .filter_map(crate::output::text::format)
            .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
            .collect();
        assert!(
            text.len() < 40,
            "{} log lines in a 4-minute wait:\n{}",
            text.len(),
            text.join("\n")
        );
        let joined = text.join("\n");
        assert!(joined.contains("kube-apiserver at https://192.0.2.10:6443/kube-apiserver/livez: connection refused (attempt 1, 0s)"), "{joined}");
        assert!(
            joined.contains(
                "kube-apiserver at https://192.0.2.10:6443/kube-apiserver/readyz?verbose: HTTP 500"
            ),
            "{joined}"
        );
        assert!(joined.contains("Still waiting after 10s: kube-apiserver (101 attempts, last: connection refused), kube-controller-manager (100 attempts, last: connection refused), kube-scheduler (100 attempts, last: HTTP 403"), "{joined}");
        assert!(
            joined.contains("kube-scheduler is healthy after 50.000s"),
            "{joined}"
        );
    }
}
