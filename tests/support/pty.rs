//! The one pseudo-terminal driver of the tests: a program in a pseudo-terminal (portable-pty)
//! whose screen is read through a VT parser (vt100), [`Pty`]; and [`Wizard`], kubestrap's own
//! binary in one (tests/tui.rs, tests/join.rs; tests/real_node.rs uses [`Pty`]). Every wait is
//! bounded; dropping it kills the program.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// Enter, Tab and Esc as a terminal sends them.
pub const ENTER: &str = "\r";
pub const TAB: &str = "\t";
pub const ESC: &str = "\x1b";

struct Shared {
    parser: vt100::Parser,
    /// Every byte the program wrote (escape sequences included).
    raw: Vec<u8>,
}

/// A running program in a pseudo-terminal of `cols` × `rows`.
pub struct Pty {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    shared: Arc<Mutex<Shared>>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Pty {
    /// Starts `program args` in `cwd` with `TERM=xterm-256color` and `envs`.
    pub fn spawn(
        program: &Path,
        args: &[&str],
        cwd: &Path,
        envs: &[(&str, &str)],
        cols: u16,
        rows: u16,
    ) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.cwd(cwd);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn in a pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let shared = Arc::new(Mutex::new(Shared {
            parser: vt100::Parser::new(rows, cols, 1000),
            raw: vec![],
        }));
        let s2 = shared.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut s = s2.lock().unwrap();
                        s.parser.process(&buf[..n]);
                        s.raw.extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
        Pty {
            child,
            writer,
            shared,
            _master: pair.master,
        }
    }

    /// The screen's text.
    pub fn screen(&self) -> String {
        self.shared.lock().unwrap().parser.screen().contents()
    }

    /// Types `bytes`.
    pub fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits (at most `secs`) until the screen contains `text` and has not changed for 50 ms;
    /// returns that screen. Panics with the screen (and `diag()`) on timeout or when the
    /// program exits first.
    pub fn wait_for(&mut self, text: &str, secs: u64, diag: &dyn Fn() -> String) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        let s = loop {
            let s = self.screen();
            if s.contains(text) {
                break s;
            }
            if Instant::now() > end || matches!(self.child.try_wait(), Ok(Some(_))) {
                panic!("waiting for {text:?}; screen:\n{s}\n{}", diag());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.settle(s, end)
    }

    /// Waits until the screen has not changed for 50 ms (a frame is drawn in several writes
    /// under load), or until `end`; returns it.
    fn settle(&self, mut s: String, end: Instant) -> String {
        let mut stable = Instant::now();
        while Instant::now() < end && stable.elapsed() < Duration::from_millis(50) {
            std::thread::sleep(Duration::from_millis(5));
            let now = self.screen();
            if now != s {
                s = now;
                stable = Instant::now();
            }
        }
        s
    }

    /// Waits (at most `secs`) for the program to exit; its exit code.
    pub fn wait_exit(&mut self, secs: u64) -> u32 {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return st.exit_code();
            }
            if Instant::now() > end {
                panic!("the program did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every byte the program wrote so far, as text (escape sequences included).
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.shared.lock().unwrap().raw).into_owned()
    }

    /// True while the program shows the alternate screen.
    pub fn alternate_screen(&self) -> bool {
        self.shared
            .lock()
            .unwrap()
            .parser
            .screen()
            .alternate_screen()
    }

    /// True while the program hides the cursor.
    pub fn cursor_hidden(&self) -> bool {
        self.shared.lock().unwrap().parser.screen().hide_cursor()
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("pid")
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_kubestrap");

/// kubestrap itself in a pseudo-terminal, with recorded runs replayed through
/// `KUBESTRAP_TUI_REPLAY` when asked.
pub struct Wizard(pub Pty);

impl Wizard {
    pub fn spawn(args: &[&str], cwd: &Path, replay: Option<&str>, cols: u16, rows: u16) -> Wizard {
        Self::spawn_env(args, cwd, replay, cols, rows, &[])
    }

    pub fn spawn_env(
        args: &[&str],
        cwd: &Path,
        replay: Option<&str>,
        cols: u16,
        rows: u16,
        envs: &[(&str, &Path)],
    ) -> Wizard {
        let mut all: Vec<(&str, String)> =
            vec![("KUBESTRAP_TUI_REPLAY", replay.unwrap_or("").to_string())];
        all.extend(envs.iter().map(|(k, v)| (*k, v.display().to_string())));
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Wizard(Pty::spawn(Path::new(BIN), args, cwd, &all, cols, rows))
    }

    pub fn screen(&self) -> String {
        self.0.screen()
    }

    pub fn send(&mut self, bytes: &str) {
        self.0.send(bytes)
    }

    pub fn raw(&self) -> String {
        self.0.raw()
    }

    pub fn pid(&self) -> u32 {
        self.0.pid()
    }

    pub fn alternate_screen(&self) -> bool {
        self.0.alternate_screen()
    }

    pub fn cursor_hidden(&self) -> bool {
        self.0.cursor_hidden()
    }

    pub fn wait_exit(&mut self, secs: u64) -> u32 {
        self.0.wait_exit(secs)
    }

    /// Waits (at most `secs`) until the screen contains `text`; panics with the screen.
    /// Returns at once: for timing (the latency measurement).
    pub fn wait_for_now(&self, text: &str, secs: u64) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if Instant::now() > end {
                panic!("timed out waiting for {text:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits (at most `secs`) until the screen contains `text` and has stopped changing for
    /// 50 ms, and returns that screen (also after the program exited: its last screen).
    pub fn wait_for(&self, text: &str, secs: u64) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        let s = self.wait_for_now(text, secs);
        self.0.settle(s, end)
    }

    /// Asserts the terminal was restored: alternate screen left, cursor shown, mouse off.
    pub fn assert_restored(&self) {
        assert!(!self.alternate_screen(), "still on the alternate screen");
        assert!(!self.cursor_hidden(), "cursor still hidden");
        let raw = self.raw();
        let enter = raw
            .rfind("\x1b[?1049h")
            .expect("entered the alternate screen");
        let leave = raw.rfind("\x1b[?1049l").expect("left the alternate screen");
        assert!(leave > enter);
        assert!(
            raw.rfind("\x1b[?25h").unwrap() > enter,
            "cursor shown at exit"
        );
        assert!(
            raw.rfind("\x1b[?1000l").unwrap() > enter,
            "mouse reporting off at exit"
        );
    }
}
