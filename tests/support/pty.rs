//! The pseudo-terminal driver of the wizard tests (tests/tui.rs, tests/join.rs): kubestrap in
//! a portable-pty terminal, its screen read through a VT parser (vt100). Every wait is
//! bounded; dropping the driver kills the process.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const BIN: &str = env!("CARGO_BIN_EXE_kubestrap");

struct Shared {
    parser: vt100::Parser,
    raw: Vec<u8>,
}

/// A kubestrap process in a pseudo-terminal. Dropping it kills the process.
pub struct Wizard {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    shared: Arc<Mutex<Shared>>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Drop for Wizard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

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
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(args);
        cmd.cwd(cwd);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        match replay {
            Some(r) => cmd.env("KUBESTRAP_TUI_REPLAY", r),
            None => cmd.env_remove("KUBESTRAP_TUI_REPLAY"),
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn kubestrap");
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
        Wizard {
            child,
            writer,
            shared,
            _master: pair.master,
        }
    }

    pub fn screen(&self) -> String {
        self.shared.lock().unwrap().parser.screen().contents()
    }

    pub fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
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
    /// 50 ms (a frame is drawn in several writes under load), and returns that screen.
    pub fn wait_for(&self, text: &str, secs: u64) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        let mut s = self.wait_for_now(text, secs);
        let mut stable_since = Instant::now();
        while Instant::now() < end && stable_since.elapsed() < Duration::from_millis(50) {
            std::thread::sleep(Duration::from_millis(5));
            let now = self.screen();
            if now != s {
                s = now;
                stable_since = Instant::now();
            }
        }
        s
    }

    /// Waits (at most `secs`) for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, secs: u64) -> u32 {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                // let the reader drain the last bytes
                std::thread::sleep(Duration::from_millis(100));
                return st.exit_code();
            }
            if Instant::now() > end {
                panic!("kubestrap did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Asserts the terminal was restored: alternate screen left, cursor shown, mouse off.
    pub fn assert_restored(&self) {
        let s = self.shared.lock().unwrap();
        assert!(
            !s.parser.screen().alternate_screen(),
            "still on the alternate screen"
        );
        assert!(!s.parser.screen().hide_cursor(), "cursor still hidden");
        let raw = String::from_utf8_lossy(&s.raw);
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

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("pid")
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
}
