//! A program in a pseudo-terminal (portable-pty) whose screen is read through a VT parser
//! (vt100). Every wait is bounded; dropping it kills the program.

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
        }));
        let s2 = shared.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => s2.lock().unwrap().parser.process(&buf[..n]),
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
        let mut s = loop {
            let s = self.screen();
            if s.contains(text) {
                break s;
            }
            if Instant::now() > end || matches!(self.child.try_wait(), Ok(Some(_))) {
                panic!("waiting for {text:?}; screen:\n{s}\n{}", diag());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
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
}
