//! A positioned YAML tree and YAML 1.1 scalar resolution.
//!
//! serde_yaml reads YAML 1.2, where `off` or `yes` are strings, and it does not tell which
//! scalars were quoted. kubeadm decodes with `sigs.k8s.io/yaml` (go-yaml v2, YAML 1.1), where an
//! unquoted `off` is a boolean and an unquoted `1.30` a number. To do what kubeadm does we need
//! each scalar's style and line, so this module builds its own tree from the event stream of
//! `yaml-rust2` (a maintained pure-Rust YAML parser that reports scalar styles and positions).
//!
//! The tree also rejects duplicate keys and non-scalar keys, and bounds alias expansion and
//! nesting depth so hostile input cannot blow up memory or the stack.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Most nodes one document may expand to (aliases count every time they are used).
const MAX_NODES: usize = 200_000;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 64;

/// One node of a parsed YAML document with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// 1-based line in the whole file.
    pub line: usize,
}

/// The shape of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar; `plain` is false for quoted and block (`|`, `>`) scalars.
    Scalar { value: String, plain: bool },
    /// A mapping in source order; keys are unique.
    Map(Vec<Entry>),
    /// A sequence.
    Seq(Vec<Node>),
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    /// 1-based line of the key.
    pub line: usize,
    pub value: Node,
}

/// What an unquoted scalar means under YAML 1.1 (go-yaml v2's resolver).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

impl Node {
    /// A plain (unquoted) scalar node.
    pub fn plain(value: &str, line: usize) -> Node {
        Node {
            kind: NodeKind::Scalar {
                value: value.to_string(),
                plain: true,
            },
            line,
        }
    }

    /// A quoted scalar node (always a string).
    pub fn quoted(value: &str, line: usize) -> Node {
        Node {
            kind: NodeKind::Scalar {
                value: value.to_string(),
                plain: false,
            },
            line,
        }
    }

    /// The mapping entries, when this is a mapping.
    pub fn as_map(&self) -> Option<&Vec<Entry>> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The mapping entries, mutably.
    pub fn as_map_mut(&mut self) -> Option<&mut Vec<Entry>> {
        match &mut self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value of `key` when this is a mapping holding it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    /// Mutable value of `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?
            .iter_mut()
            .find(|e| e.key == key)
            .map(|e| &mut e.value)
    }

    /// Removes `key` from a mapping, returning its entry.
    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        let m = self.as_map_mut()?;
        let i = m.iter().position(|e| e.key == key)?;
        Some(m.remove(i))
    }

    /// The scalar text, if this is a scalar.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// True for a plain `~`, `null`, `Null`, `NULL` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { value, plain: true } if resolve_plain(value) == Resolved::Null)
    }

    /// How the scalar resolves (quoted scalars are always strings); `None` for collections.
    pub fn resolved(&self) -> Option<Resolved> {
        match &self.kind {
            NodeKind::Scalar { value, plain: true } => Some(resolve_plain(value)),
            NodeKind::Scalar { .. } => Some(Resolved::Str),
            _ => None,
        }
    }

    /// Short text for error messages: the scalar, or `{...}` / `[...]`.
    pub fn display_value(&self) -> String {
        match &self.kind {
            NodeKind::Scalar { value, .. } => value.clone(),
            NodeKind::Map(_) => "{...}".into(),
            NodeKind::Seq(_) => "[...]".into(),
        }
    }

    /// Converts to a `serde_yaml::Value` with YAML 1.1 scalar meaning (used for the component
    /// configs kept verbatim).
    pub fn to_value(&self) -> serde_yaml::Value {
        use serde_yaml::Value;
        match &self.kind {
            NodeKind::Scalar { value, plain } => {
                if !*plain {
                    return Value::String(value.clone());
                }
                match resolve_plain(value) {
                    Resolved::Null => Value::Null,
                    Resolved::Bool(b) => Value::Bool(b),
                    Resolved::Int(i) => Value::Number(i.into()),
                    Resolved::Float(f) => Value::Number(f.into()),
                    Resolved::Str => Value::String(value.clone()),
                }
            }
            NodeKind::Seq(items) => Value::Sequence(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(entries) => {
                let mut m = serde_yaml::Mapping::new();
                for e in entries {
                    m.insert(Value::String(e.key.clone()), e.value.to_value());
                }
                Value::Mapping(m)
            }
        }
    }
}

/// Resolves an unquoted scalar the way go-yaml v2 does (YAML 1.1): `y`/`yes`/`on`/`true`
/// (any of their case forms) are true, the `n`/`no`/`off`/`false` forms false, `~`/`null`/empty
/// null, decimal/hex/octal/binary integers and decimal floats numbers; anything else a string.
pub fn resolve_plain(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Resolved::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(s) {
        return Resolved::Int(i);
    }
    if is_float(s)
        && let Ok(f) = s.replace('_', "").parse::<f64>()
    {
        return Resolved::Float(f);
    }
    Resolved::Str
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let clean = body.replace('_', "");
    if clean.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(h) = clean.strip_prefix("0x") {
        (16, h)
    } else if let Some(b) = clean.strip_prefix("0b") {
        (2, b)
    } else if let Some(o) = clean.strip_prefix("0o") {
        (8, o)
    } else if clean.len() > 1 && clean.starts_with('0') {
        (8, &clean[1..])
    } else {
        (10, clean.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i128::from_str_radix(digits, radix).ok()?;
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// `[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?`
fn is_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let start = i;
    let mut int_digits = 0;
    while i < b.len() && (b[i].is_ascii_digit() || (b[i] == b'_' && i > start)) {
        if b[i].is_ascii_digit() {
            int_digits += 1;
        }
        i += 1;
    }
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i].is_ascii_digit() {
                frac_digits += 1;
            }
            i += 1;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let e0 = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e0 {
            return false;
        }
    }
    i == b.len()
}

/// True when `s`, written unquoted, would not read back as the same string under YAML 1.1
/// or YAML 1.2 (booleans, numbers, nulls, indicators, leading/trailing space, `: `, ` #`).
/// The exporter quotes such strings.
pub fn needs_quotes(s: &str) -> bool {
    if resolve_plain(s) != Resolved::Str {
        return true;
    }
    // YAML 1.2 extras and things go-yaml v3 would read differently.
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), "=" | "<<") || lower.starts_with("0o") {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first.is_whitespace() {
        return true;
    }
    if s.ends_with(char::is_whitespace) || s.ends_with(':') {
        return true;
    }
    if s.contains(": ") || s.contains(" #") || s.contains('\t') {
        return true;
    }
    s.chars().any(|c| c.is_control())
}

/// A `---` document of a file: its text and the 1-based line its first line has.
#[derive(Debug, Clone)]
pub struct DocText {
    pub text: String,
    pub first_line: usize,
}

/// An error found while reading YAML: 1-based line and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

/// Splits a file into documents at lines that are exactly `---` (optionally followed by a
/// comment). A line that starts with `---` followed by anything else is an error, as is a
/// `%` directive. Documents are returned with the line number of their first line.
pub fn split_documents(text: &str) -> Result<Vec<DocText>, YamlError> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    let mut first_line = 1;
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let l = line.trim_end_matches('\r');
        if let Some(rest) = l.strip_prefix("---") {
            let r = rest.trim_start();
            let is_sep = r.is_empty() || (r.starts_with('#') && rest.len() > r.len());
            if !is_sep {
                return Err(YamlError {
                    line: n,
                    message: format!(
                        "{l:?}: a document separator must be '---' alone on its line (optionally followed by a comment)"
                    ),
                });
            }
            docs.push(DocText {
                text: std::mem::take(&mut cur),
                first_line,
            });
            first_line = n + 1;
            continue;
        }
        if l.starts_with('%') {
            return Err(YamlError {
                line: n,
                message: format!("{l:?}: YAML directives are not supported"),
            });
        }
        cur.push_str(l);
        cur.push('\n');
    }
    docs.push(DocText {
        text: cur,
        first_line,
    });
    Ok(docs)
}

/// Parses one document's text into a tree. `Ok(None)` for a document holding only comments
/// or whitespace. Lines in the result and errors are offset by `first_line - 1`.
pub fn parse_document(text: &str, first_line: usize) -> Result<Option<Node>, YamlError> {
    let off = first_line.saturating_sub(1);
    let mut parser = Parser::new_from_str(text);
    let mut b = Builder {
        off,
        anchors: HashMap::new(),
        count: 0,
    };
    let mut root: Option<Node> = None;
    let mut docs = 0;
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| YamlError {
            line: e.marker().line() + off,
            message: e.info().to_string(),
        })?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart => {
                docs += 1;
                if docs > 1 {
                    return Err(YamlError {
                        line: mark.line() + off,
                        message: "a second document without a '---' separator line".into(),
                    });
                }
                let node = b.node(&mut parser, 0)?;
                root = Some(node);
            }
            other => {
                return Err(YamlError {
                    line: mark.line() + off,
                    message: format!("unexpected YAML event {other:?}"),
                });
            }
        }
    }
    Ok(root)
}

struct Builder {
    off: usize,
    anchors: HashMap<usize, Node>,
    count: usize,
}

impl Builder {
    fn err(&self, line: usize, message: impl Into<String>) -> YamlError {
        YamlError {
            line: line + self.off,
            message: message.into(),
        }
    }

    fn bump(&mut self, n: usize, line: usize) -> Result<(), YamlError> {
        self.count += n;
        if self.count > MAX_NODES {
            return Err(self.err(
                line,
                "document too large (too many nodes or alias expansions)",
            ));
        }
        Ok(())
    }

    fn node(
        &mut self,
        p: &mut Parser<std::str::Chars<'_>>,
        depth: usize,
    ) -> Result<Node, YamlError> {
        let (ev, mark) = p.next_token().map_err(|e| YamlError {
            line: e.marker().line() + self.off,
            message: e.info().to_string(),
        })?;
        let line = mark.line();
        if depth > MAX_DEPTH {
            return Err(self.err(line, "nesting too deep"));
        }
        self.bump(1, line)?;
        let (node, anchor) = match ev {
            Event::Scalar(value, style, anchor, tag) => {
                if let Some(t) = tag
                    && !(t.handle == "!!" && t.suffix == "str")
                {
                    return Err(self.err(
                        line,
                        format!("YAML tag {}{} is not supported", t.handle, t.suffix),
                    ));
                }
                let plain = matches!(style, TScalarStyle::Plain);
                (
                    Node {
                        kind: NodeKind::Scalar { value, plain },
                        line: line + self.off,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let n = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| self.err(line, "alias to an unknown anchor"))?;
                let size = count_nodes(&n);
                self.bump(size, line)?;
                (n, 0)
            }
            Event::SequenceStart(anchor, tag) => {
                if tag.is_some() {
                    return Err(self.err(line, "YAML tags are not supported"));
                }
                let mut items = Vec::new();
                loop {
                    if matches!(p.peek(), Ok((Event::SequenceEnd, _))) {
                        let _ = p.next_token();
                        break;
                    }
                    items.push(self.node(p, depth + 1)?);
                }
                (
                    Node {
                        kind: NodeKind::Seq(items),
                        line: line + self.off,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, tag) => {
                if tag.is_some() {
                    return Err(self.err(line, "YAML tags are not supported"));
                }
                let mut entries: Vec<Entry> = Vec::new();
                loop {
                    if matches!(p.peek(), Ok((Event::MappingEnd, _))) {
                        let _ = p.next_token();
                        break;
                    }
                    let k = self.node(p, depth + 1)?;
                    let key = match &k.kind {
                        NodeKind::Scalar { value, .. } => value.clone(),
                        _ => {
                            return Err(YamlError {
                                line: k.line,
                                message: "a mapping key must be a plain string".into(),
                            });
                        }
                    };
                    if key == "<<" {
                        return Err(YamlError {
                            line: k.line,
                            message: "YAML merge keys (<<) are not supported".into(),
                        });
                    }
                    let v = self.node(p, depth + 1)?;
                    if let Some(prev) = entries.iter().find(|e| e.key == key) {
                        return Err(YamlError {
                            line: k.line,
                            message: format!(
                                "duplicate key {key:?} (first at line {}); each key may appear once",
                                prev.line
                            ),
                        });
                    }
                    entries.push(Entry {
                        key,
                        line: k.line,
                        value: v,
                    });
                }
                (
                    Node {
                        kind: NodeKind::Map(entries),
                        line: line + self.off,
                    },
                    anchor,
                )
            }
            other => return Err(self.err(line, format!("unexpected YAML event {other:?}"))),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

fn count_nodes(n: &Node) -> usize {
    match &n.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|e| 1 + count_nodes(&e.value))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_yaml_1_1() {
        for s in ["yes", "No", "ON", "off", "y", "N", "true", "FALSE"] {
            assert!(matches!(resolve_plain(s), Resolved::Bool(_)), "{s}");
        }
        assert_eq!(resolve_plain("0x1f"), Resolved::Int(31));
        assert_eq!(resolve_plain("010"), Resolved::Int(8));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("1.30"), Resolved::Float(1.3));
        assert_eq!(resolve_plain("~"), Resolved::Null);
        for s in ["v1.34.2", "1.2.3", "10.96.0.0/12", "abc", "6443a", "."] {
            assert_eq!(resolve_plain(s), Resolved::Str, "{s}");
        }
        assert!(
            needs_quotes("off") && needs_quotes("1.30") && needs_quotes("") && needs_quotes("a: b")
        );
        assert!(!needs_quotes("v1.34.2") && !needs_quotes("10.96.0.0/12"));
    }

    #[test]
    fn positions_duplicates_and_separators() {
        let docs = split_documents("a: 1\n---\nb:\n  c: d\n").unwrap();
        assert_eq!(docs.len(), 2);
        let n = parse_document(&docs[1].text, docs[1].first_line)
            .unwrap()
            .unwrap();
        assert_eq!(n.as_map().unwrap()[0].line, 3);
        assert_eq!(n.get("b").unwrap().as_map().unwrap()[0].line, 4);
        let e = parse_document("a: 1\nb: 2\na: 3\n", 1).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("duplicate key \"a\""));
        assert_eq!(split_documents("a: 1\n--- foo\n").unwrap_err().line, 2);
        assert!(split_documents("--- # comment\na: 1\n").is_ok());
        assert_eq!(parse_document("# only a comment\n\n", 1).unwrap(), None);
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        assert!(parse_document(&s, 1).is_err());
    }
}
