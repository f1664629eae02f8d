//! The Network and Cluster screens (the form): focus, the typed value, validation as typed,
//! F2 choices, and leaving the screen only when its fields are valid.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use super::{App, Screen};
use crate::tui::form::{self, CLUSTER_FIELDS, FieldId, NETWORK_FIELDS};

impl App {
    /// The fields of the current form screen.
    pub fn form_fields(&self) -> &'static [FieldId] {
        match self.screen {
            Screen::Network => NETWORK_FIELDS,
            Screen::Cluster => CLUSTER_FIELDS,
            _ => &[],
        }
    }

    pub(super) fn focus_field(&mut self, f: FieldId) {
        self.commit_input();
        self.focus = f;
        let v = self.answers.get(f).to_string();
        self.input = Input::new(v);
    }

    pub(super) fn commit_input(&mut self) {
        if self.form_fields().contains(&self.focus) {
            self.answers.set(self.focus, self.input.value().to_string());
        }
    }

    pub(super) fn check_field(&mut self, f: FieldId) {
        match form::validate_field(&self.answers, f) {
            Ok(()) => {
                self.errors.remove(&f);
            }
            Err(e) => {
                self.errors.insert(f, e);
            }
        }
    }

    pub(super) fn move_focus(&mut self, back: bool) {
        let fields = self.form_fields();
        if fields.is_empty() {
            return;
        }
        self.commit_input();
        self.check_field(self.focus);
        let i = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = fields.len();
        let next = fields[if back { (i + n - 1) % n } else { (i + 1) % n }];
        self.focus_field(next);
    }

    pub(super) fn enter_form(&mut self, screen: Screen) {
        self.commit_input();
        self.screen = screen;
        let first = self.form_fields()[0];
        self.focus = first;
        self.input = Input::new(self.answers.get(first).to_string());
    }

    /// Validates the current form screen; on errors focuses the first bad field.
    pub(super) fn leave_form(&mut self) -> bool {
        self.commit_input();
        let fields = self.form_fields();
        let errs = form::validate_fields(&self.answers, fields);
        for f in fields {
            self.errors.remove(f);
        }
        if let Some((first, _)) = errs.first() {
            let first = *first;
            for (f, e) in errs {
                self.errors.insert(f, e);
            }
            self.focus_field(first);
            return false;
        }
        true
    }
}

pub(super) fn on_form_key(app: &mut App, k: KeyEvent) {
    let shift_tab = k.code == KeyCode::BackTab;
    match k.code {
        KeyCode::Tab | KeyCode::Down => app.move_focus(false),
        KeyCode::BackTab | KeyCode::Up => app.move_focus(true),
        _ if shift_tab => {}
        KeyCode::F(2) => cycle_choice(app),
        KeyCode::Char('n') if k.modifiers.contains(KeyModifiers::CONTROL) => cycle_choice(app),
        KeyCode::Enter => {
            if app.leave_form() {
                match app.screen {
                    Screen::Network => app.enter_form(Screen::Cluster),
                    _ => {
                        app.screen = Screen::Args;
                        app.args.selected = app.args.selected.min(app.answers.extra_args.len());
                    }
                }
            }
        }
        KeyCode::Esc => {
            app.commit_input();
            match app.screen {
                Screen::Network => app.screen = Screen::Welcome,
                _ => app.enter_form(Screen::Network),
            }
        }
        _ => {
            if let Some(req) = to_input_request(&crossterm::event::Event::Key(k)) {
                app.input.handle(req);
                app.commit_input();
                // Every field validates as typed: the message appears and clears with the text.
                app.check_field(app.focus);
            }
        }
    }
}

fn cycle_choice(app: &mut App) {
    app.commit_input();
    if let Some(v) = form::next_choice(app.focus, app.input.value(), &app.detected.facts) {
        app.answers.set(app.focus, v.clone());
        app.input = Input::new(v);
        app.check_field(app.focus);
    }
}
