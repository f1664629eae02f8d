//! The house rules of ARCHITECTURE.md, checked on the source text of src/:
//!
//! - no import cycle between the top-level modules (`crate::engine` ↔ `crate::phases` and
//!   the like), and every reference goes to a lower floor of the table below;
//! - no file in src/ over 800 lines;
//! - the engine never prints; only `host` runs programs or changes files.
//!
//! References are read from the code with comments and string literals removed: every
//! `crate::NAME`, every name inside `crate::{...}`, and `super::` chains that climb to the
//! crate root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, lowest first; a module may only refer to modules on lower floors.
/// ARCHITECTURE.md explains each.
const FLOORS: &[&[&str]] = &[
    &["host", "jws"],
    &["cli"],
    &["config"],
    &["pki"],
    &["engine"],
    &["kubeapi", "output"],
    &["day2"],
    &["phases"],
    &["join"],
    &["tui"],
    &["cmd"],
];

const MAX_LINES: usize = 800;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file under src/ (`src/phases/preflight/mod.rs` → `phases::preflight`).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

/// The code of `text` with comments and the insides of string and char literals blanked
/// (newlines kept, so line numbers stay right).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep_newlines = |s: &[u8]| -> String {
        s.iter()
            .map(|c| if *c == b'\n' { '\n' } else { ' ' })
            .collect()
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|c| *c == b'\n').unwrap_or(rest.len());
            i += end;
        } else if rest.starts_with(b"/*") {
            let mut depth = 0;
            let mut j = 0;
            while j < rest.len() {
                if rest[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            out.push_str(&keep_newlines(&rest[..j]));
            i += j;
        } else if rest[0] == b'r'
            && (rest.get(1) == Some(&b'"') || rest.get(1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // Raw string r"..." or r#"..."#.
            let hashes = rest[1..].iter().take_while(|c| **c == b'#').count();
            if rest.get(1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            let body = 2 + hashes;
            let end = rest[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map(|p| body + p + close.len())
                .unwrap_or(rest.len());
            out.push_str(&keep_newlines(&rest[..end]));
            i += end;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            out.push_str(&keep_newlines(&rest[..end]));
            i += end;
        } else if rest[0] == b'\'' {
            // A char literal ('x', '\n', '\u{..}'), else a lifetime.
            let len = if rest.get(1) == Some(&b'\\') {
                rest[2..].iter().position(|c| *c == b'\'').map(|p| p + 3)
            } else {
                let ch_len = std::str::from_utf8(&rest[1..rest.len().min(5)])
                    .ok()
                    .or_else(|| {
                        (2..=5)
                            .rev()
                            .find_map(|n| std::str::from_utf8(&rest[1..rest.len().min(n)]).ok())
                    })
                    .and_then(|s| s.chars().next())
                    .map(char::len_utf8)
                    .unwrap_or(1);
                (rest.get(1 + ch_len) == Some(&b'\'')).then_some(ch_len + 2)
            };
            match len {
                Some(n) => {
                    out.push_str(&keep_newlines(&rest[..n]));
                    i += n;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn ident_at(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// Top-level modules named by `code` (already stripped), with the 1-based line of each use.
fn references(code: &str, module: &[String]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut at = 0;
        while let Some(p) = line[at..].find("crate::") {
            let start = at + p;
            at = start + "crate::".len();
            let before = line[..start].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let rest = &line[at..];
            if let Some(group) = rest.strip_prefix('{') {
                // crate::{a::b, c} on this line and, for a long list, the lines after.
                let mut text = group.to_string();
                for more in code.lines().skip(n + 1) {
                    if text.contains('}') {
                        break;
                    }
                    text.push_str(more);
                }
                let mut depth = 0;
                let mut item_start = true;
                let mut i = 0;
                while i < text.len() {
                    let c = text.as_bytes()[i];
                    match c {
                        b'{' => depth += 1,
                        b'}' if depth == 0 => break,
                        b'}' => depth -= 1,
                        b',' if depth == 0 => item_start = true,
                        _ if item_start && (c.is_ascii_alphabetic() || c == b'_') => {
                            if let Some(id) = ident_at(&text[i..]) {
                                out.push((id.to_string(), n + 1));
                                i += id.len();
                                item_start = false;
                                continue;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            } else if let Some(id) = ident_at(rest) {
                out.push((id.to_string(), n + 1));
            }
        }
        // super::super::NAME reaching the crate root from this file's module.
        let mut at = 0;
        while let Some(p) = line[at..].find("super::") {
            let start = at + p;
            let before = line[..start].chars().last();
            let mut i = start;
            let mut ups = 0;
            while line[i..].starts_with("super::") {
                ups += 1;
                i += "super::".len();
            }
            at = i;
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            if ups >= module.len()
                && let Some(id) = ident_at(&line[i..])
            {
                out.push((id.to_string(), n + 1));
            }
        }
    }
    out
}

struct Graph {
    /// (from, to) → first place the reference is made, `src/...:line`.
    edges: BTreeMap<(String, String), String>,
    modules: BTreeSet<String>,
}

fn graph() -> Graph {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(f.strip_prefix(&src).unwrap()).first().cloned())
        .collect();
    let mut edges = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let module = module_path(rel);
        let Some(top) = module.first() else {
            continue; // lib.rs, main.rs
        };
        let code = code_only(&std::fs::read_to_string(f).unwrap());
        for (to, line) in references(&code, &module) {
            if &to != top && modules.contains(&to) {
                edges
                    .entry((top.clone(), to))
                    .or_insert_with(|| format!("src/{}:{line}", rel.display()));
            }
        }
    }
    Graph { edges, modules }
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        let succ: Vec<&'a str> =
            t.g.edges
                .keys()
                .filter(|(a, _)| a == v)
                .map(|(_, b)| b.as_str())
                .collect();
        for w in succ {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for m in &g.modules {
        if !t.index.contains_key(m.as_str()) {
            visit(&mut t, m);
        }
    }
    t.out
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let g = graph();
    let found = cycles(&g);
    let mut msg = String::new();
    for comp in &found {
        msg.push_str(&format!("cycle among {}:\n", comp.join(", ")));
        for ((a, b), at) in &g.edges {
            if comp.contains(a) && comp.contains(b) {
                msg.push_str(&format!("  {a} -> {b} (first at {at})\n"));
            }
        }
    }
    assert!(found.is_empty(), "{msg}");
}

#[test]
fn every_reference_points_down_a_floor() {
    let g = graph();
    let floor = |m: &str| FLOORS.iter().position(|f| f.contains(&m));
    let unplaced: Vec<&String> = g.modules.iter().filter(|m| floor(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "top-level modules without a floor in tests/architecture.rs and ARCHITECTURE.md: {unplaced:?}"
    );
    let up: Vec<String> = g
        .edges
        .iter()
        .filter(|((a, b), _)| floor(a) <= floor(b))
        .map(|((a, b), at)| format!("{a} -> {b} at {at}"))
        .collect();
    assert!(
        up.is_empty(),
        "references that do not point to a lower floor:\n{}",
        up.join("\n")
    );
}

#[test]
fn no_source_file_over_800_lines() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let big: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES)
                .then(|| format!("{} ({n} lines)", f.strip_prefix(&src).unwrap().display()))
        })
        .collect();
    assert!(
        big.is_empty(),
        "files in src/ over {MAX_LINES} lines (split them by topic):\n{}",
        big.join("\n")
    );
}

/// Lines of non-test code (before a file's `#[cfg(test)]` module) matching `pat`.
fn non_test_lines(dir: &str, pats: &[&str]) -> Vec<String> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src.join(dir), &mut files);
    let mut hits = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        if rel.iter().any(|c| c == "tests" || c == "tests.rs") {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(&f).unwrap());
        for (n, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            if pats.iter().any(|p| line.contains(p)) {
                hits.push(format!("src/{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    hits
}

#[test]
fn the_engine_never_prints() {
    let hits = non_test_lines(
        "engine",
        &[
            "println!",
            "eprintln!",
            "print!(",
            "eprint!(",
            "stdout()",
            "stderr()",
        ],
    );
    assert!(
        hits.is_empty(),
        "the engine reports events, it never prints:\n{}",
        hits.join("\n")
    );
}

#[test]
fn only_the_host_runs_programs_or_changes_files() {
    let pats = [
        "process::Command",
        "Command::new",
        "fs::write(",
        "File::create",
        "OpenOptions",
        "fs::create_dir",
        "fs::remove_",
        "fs::rename(",
        "fs::set_permissions",
    ];
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(src_dir()).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "host" || !p.is_dir() {
            continue;
        }
        hits.extend(non_test_lines(&name, &pats));
    }
    assert!(
        hits.is_empty(),
        "only src/host/ may run programs or change files (go through crate::host):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_reader_finds_references() {
    let code = code_only(
        "use crate::engine::Event; // crate::tui\nlet s = \"crate::cmd\";\nuse crate::{\n    config::X,\n    pki::{a, b},\n};\nlet c = '\"'; let l: &'static str = x; crate::host::f();\n",
    );
    let refs: Vec<String> = references(&code, &["phases".into(), "certs".into()])
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    assert_eq!(refs, ["engine", "config", "pki", "host"]);
    let up = references(
        &code_only("super::super::engine::X"),
        &["a".into(), "b".into()],
    );
    assert_eq!(up, [("engine".to_string(), 1)]);
}
