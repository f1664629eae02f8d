//! The kube-apiserver extra-arguments screen: the list, and the name/value editor with
//! completion and flag-name checks.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use super::{App, Screen};
use crate::config::Arg;
use crate::tui::args::{self, ArgCol, ArgEdit};

pub(super) fn on_args_key(app: &mut App, k: KeyEvent) {
    let n = app.answers.extra_args.len();
    if let Some(mut ed) = app.args.edit.take() {
        match k.code {
            KeyCode::Esc => return,
            KeyCode::Tab | KeyCode::BackTab => {
                if ed.column() == ArgCol::Name {
                    let done = args::complete(ed.name.value().trim());
                    ed.name = Input::new(done);
                    ed.col = Some(ArgCol::Value);
                } else {
                    ed.col = Some(ArgCol::Name);
                }
            }
            KeyCode::Enter => {
                let name = ed.name.value().trim().to_string();
                let checked = args::check_name(&name).and_then(|()| {
                    args::check_value(&name, ed.value.value(), app.answers.version.trim())
                        .and_then(|()| args::check_derived(&name, ed.value.value(), &app.answers))
                        .inspect_err(|_| ed.col = Some(ArgCol::Value))
                });
                match checked {
                    Ok(()) => {
                        let arg = Arg {
                            name,
                            value: ed.value.value().to_string(),
                        };
                        match ed.index {
                            Some(i) if i < n => app.answers.extra_args[i] = arg,
                            _ => {
                                app.answers.extra_args.push(arg);
                                app.args.selected = app.answers.extra_args.len() - 1;
                            }
                        }
                        return;
                    }
                    Err(e) => ed.error = Some(e),
                }
            }
            _ => {
                if let Some(req) = to_input_request(&crossterm::event::Event::Key(k)) {
                    match ed.column() {
                        ArgCol::Name => {
                            ed.name.handle(req);
                            ed.error = None;
                        }
                        ArgCol::Value => {
                            ed.value.handle(req);
                            ed.error = None;
                        }
                    }
                }
            }
        }
        app.args.edit = Some(ed);
        return;
    }
    let sel = app.args.selected.min(n.saturating_sub(1));
    match k.code {
        KeyCode::Char('a') | KeyCode::Insert => {
            app.args.edit = Some(ArgEdit::default());
        }
        KeyCode::Char('e') if n > 0 => {
            let a = &app.answers.extra_args[sel];
            app.args.edit = Some(ArgEdit {
                index: Some(sel),
                name: Input::new(a.name.clone()),
                value: Input::new(a.value.clone()),
                col: Some(ArgCol::Value),
                error: None,
            });
        }
        KeyCode::Char('d') | KeyCode::Delete if n > 0 => {
            app.answers.extra_args.remove(sel);
            app.args.selected = sel.min(app.answers.extra_args.len().saturating_sub(1));
        }
        KeyCode::Char('K') if sel > 0 && n > 1 => {
            app.answers.extra_args.swap(sel, sel - 1);
            app.args.selected = sel - 1;
        }
        KeyCode::Up if k.modifiers.contains(KeyModifiers::SHIFT) && sel > 0 => {
            app.answers.extra_args.swap(sel, sel - 1);
            app.args.selected = sel - 1;
        }
        KeyCode::Char('J') if sel + 1 < n => {
            app.answers.extra_args.swap(sel, sel + 1);
            app.args.selected = sel + 1;
        }
        KeyCode::Down if k.modifiers.contains(KeyModifiers::SHIFT) && sel + 1 < n => {
            app.answers.extra_args.swap(sel, sel + 1);
            app.args.selected = sel + 1;
        }
        KeyCode::Up | KeyCode::BackTab => app.args.selected = sel.saturating_sub(1),
        KeyCode::Down | KeyCode::Tab => app.args.selected = (sel + 1).min(n.saturating_sub(1)),
        KeyCode::Enter => app.goto_review(),
        KeyCode::Esc => app.enter_form(Screen::Cluster),
        _ => {}
    }
}
