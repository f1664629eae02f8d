//! The reset confirmation screen: what `kubestrap reset` will delete, what it leaves, and
//! Enter to reset or Esc to cancel. It replaces kubeadm's `[y/N]` question when standard
//! input and output are a terminal (kubeadm's `InteractivelyConfirmAction` in
//! `app/cmd/phases/reset/preflight.go`).

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// What the screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetScreen {
    /// The files and directories that will be deleted or emptied (real paths).
    pub items: Vec<String>,
    /// First item line shown (↑/↓ scroll).
    pub scroll: usize,
}

/// What a key does on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Enter: reset the node.
    Reset,
    /// Esc, `q`, Ctrl-C: leave everything as it is.
    Cancel,
    /// Any other key: stay on the screen.
    Stay,
}

impl ResetScreen {
    /// Handles one key: Enter resets; Esc, `q` and Ctrl-C cancel; ↑/↓ scroll.
    pub fn key(&mut self, code: KeyCode, mods: KeyModifiers) -> Answer {
        match code {
            KeyCode::Enter => Answer::Reset,
            KeyCode::Esc | KeyCode::Char('q') => Answer::Cancel,
            KeyCode::Char('c') if mods.contains(KeyModifiers::CONTROL) => Answer::Cancel,
            KeyCode::Down => {
                if self.scroll + 1 < self.items.len() {
                    self.scroll += 1;
                }
                Answer::Stay
            }
            KeyCode::Up => {
                self.scroll = self.scroll.saturating_sub(1);
                Answer::Stay
            }
            _ => Answer::Stay,
        }
    }

    /// Draws the screen into `area`.
    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let mut lines = vec![
            Line::from(
                "This reverts what 'kubeadm init' or 'kubeadm join' (or kubestrap) set up on this node: the kubelet is stopped, the node's containers removed, and these are deleted (directories are emptied, not removed):",
            ),
            Line::from(""),
        ];
        for p in self.items.iter().skip(self.scroll) {
            lines.push(Line::from(vec![
                Span::raw("  ✗ "),
                Span::styled(p.clone(), bold),
            ]));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(
            "Left in place: /etc/cni/net.d, the iptables/nftables/IPVS rules, $HOME/.kube/config, and this node's objects in the cluster.",
        ));
        let block = Block::default()
            .borders(Borders::ALL)
            .title(" kubestrap · reset ")
            .title_bottom(" Enter reset this node · Esc cancel · ↑↓ scroll ");
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
    }
}

/// Shows the screen on the terminal until Enter (true) or Esc/q/Ctrl-C (false). Errors: the
/// terminal cannot be set up or read.
pub fn confirm(items: &[String]) -> std::io::Result<bool> {
    let _guard = super::enter_terminal(false)?;
    super::with_panic_restore(|| {
        let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
        let mut term = ratatui::Terminal::new(backend)?;
        let mut screen = ResetScreen {
            items: items.to_vec(),
            scroll: 0,
        };
        loop {
            term.draw(|f| screen.draw(f, f.area()))?;
            if let Event::Key(k) = event::read()? {
                if k.kind != KeyEventKind::Press {
                    continue;
                }
                match screen.key(k.code, k.modifiers) {
                    Answer::Reset => return Ok(true),
                    Answer::Cancel => return Ok(false),
                    Answer::Stay => {}
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;

    #[test]
    fn lists_every_item_and_the_keys() {
        let s = ResetScreen {
            items: vec![
                "/etc/kubernetes/manifests".into(),
                "/etc/kubernetes/admin.conf".into(),
            ],
            scroll: 0,
        };
        let mut t = ratatui::Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| s.draw(f, f.area())).unwrap();
        let text: String = t
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        for want in [
            "kubestrap · reset",
            "/etc/kubernetes/manifests",
            "/etc/kubernetes/admin.conf",
            "Enter reset this node",
            "Esc cancel",
        ] {
            assert!(text.contains(want), "{want}");
        }
        let mut s = s;
        assert_eq!(s.key(KeyCode::Esc, KeyModifiers::NONE), Answer::Cancel);
        assert_eq!(
            s.key(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Answer::Cancel
        );
        assert_eq!(s.key(KeyCode::Down, KeyModifiers::NONE), Answer::Stay);
        assert_eq!(s.scroll, 1);
        assert_eq!(s.key(KeyCode::Enter, KeyModifiers::NONE), Answer::Reset);
    }
}
