//! A serde `Deserializer` over the positioned YAML tree ([`super::yaml11::Node`]).
//!
//! It decodes like kubeadm's `sigs.k8s.io/yaml` (YAML 1.1 scalars: an unquoted `off` is a
//! boolean, so it is refused in a string field with "quote it"), records the line of every
//! field path it visits, and collects every unknown field (with the closest known field name)
//! instead of stopping at the first one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::validate::FieldError;
use super::yaml11::{Entry, Node, NodeKind, Resolved};

/// Shared state of one document's decoding.
#[derive(Debug, Default)]
pub struct DeState {
    /// Unknown fields found (decoding continues past them).
    pub unknown: RefCell<Vec<FieldError>>,
    /// Field path → 1-based line of its key.
    pub lines: RefCell<BTreeMap<String, usize>>,
}

/// A decoding error with the field path, value and line it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError(pub FieldError);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError(FieldError {
            path: String::new(),
            value: String::new(),
            rule: msg.to_string(),
            line: None,
            warning: false,
        })
    }
}

impl DeError {
    fn at(mut self, node: &Node, path: &str) -> Self {
        if self.0.path.is_empty() {
            self.0.path = path.to_string();
            if self.0.value.is_empty() {
                self.0.value = match &node.kind {
                    NodeKind::Scalar { value, .. } => value.clone(),
                    _ => String::new(),
                };
            }
        }
        if self.0.line.is_none() {
            self.0.line = Some(node.line);
        }
        self
    }
}

/// Deserializes `T` from `node`, rooted at field path `path` ("" for a document).
pub fn from_node<T: serde::de::DeserializeOwned>(
    node: &Node,
    path: &str,
    state: &DeState,
) -> Result<T, DeError> {
    T::deserialize(NodeDe {
        node,
        path: path.to_string(),
        state,
    })
    .map_err(|e| e.at(node, path))
}

/// Deserializer for one node.
pub struct NodeDe<'a> {
    pub node: &'a Node,
    pub path: String,
    pub state: &'a DeState,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> NodeDe<'a> {
    fn err(&self, rule: impl Into<String>) -> DeError {
        DeError(FieldError {
            path: self.path.clone(),
            value: self.node.display_value(),
            rule: rule.into(),
            line: Some(self.node.line),
            warning: false,
        })
    }

    fn kind_word(&self) -> &'static str {
        match (&self.node.kind, self.node.resolved()) {
            (NodeKind::Map(_), _) => "a mapping",
            (NodeKind::Seq(_), _) => "a list",
            (_, Some(Resolved::Bool(_))) => "a boolean",
            (_, Some(Resolved::Int(_))) | (_, Some(Resolved::Float(_))) => "a number",
            (_, Some(Resolved::Null)) => "null",
            _ => "a string",
        }
    }

    fn int(&self) -> Result<i64, DeError> {
        match self.node.resolved() {
            Some(Resolved::Int(i)) => Ok(i),
            _ => Err(self.err(format!("expected an integer, found {}", self.kind_word()))),
        }
    }
}

macro_rules! de_int {
    ($name:ident, $visit:ident, $t:ty) => {
        fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let i = self.int()?;
            let x = <$t>::try_from(i).map_err(|_| self.err(format!("{i} is out of range")))?;
            v.$visit(x)
        }
    };
}

impl<'de, 'a> de::Deserializer<'de> for NodeDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Map(entries) => v.visit_map(Entries::new(entries, None, &self)),
            NodeKind::Seq(items) => v.visit_seq(Items {
                items: items.iter(),
                path: self.path.clone(),
                idx: 0,
                state: self.state,
            }),
            NodeKind::Scalar { value, plain } => {
                if !*plain {
                    return v.visit_str(value);
                }
                match self.node.resolved() {
                    Some(Resolved::Null) => v.visit_unit(),
                    Some(Resolved::Bool(b)) => v.visit_bool(b),
                    Some(Resolved::Int(i)) => v.visit_i64(i),
                    Some(Resolved::Float(f)) => v.visit_f64(f),
                    _ => v.visit_str(value),
                }
            }
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.node.resolved() {
            Some(Resolved::Bool(b)) => v.visit_bool(b),
            _ => Err(self.err(format!(
                "expected true or false, found {}",
                self.kind_word()
            ))),
        }
    }

    de_int!(deserialize_i8, visit_i8, i8);
    de_int!(deserialize_i16, visit_i16, i16);
    de_int!(deserialize_i32, visit_i32, i32);
    de_int!(deserialize_i64, visit_i64, i64);
    de_int!(deserialize_u8, visit_u8, u8);
    de_int!(deserialize_u16, visit_u16, u16);
    de_int!(deserialize_u32, visit_u32, u32);
    de_int!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(v)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.node.resolved() {
            Some(Resolved::Int(i)) => v.visit_f64(i as f64),
            Some(Resolved::Float(f)) => v.visit_f64(f),
            _ => Err(self.err(format!("expected a number, found {}", self.kind_word()))),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Scalar { value, plain } => match (plain, self.node.resolved()) {
                (false, _) | (true, Some(Resolved::Str)) => v.visit_str(value),
                (true, Some(Resolved::Null)) => v.visit_str(""),
                _ => Err(self.err(format!(
                    "is read as {} by kubeadm's YAML 1.1 decoder, but this field is a string: quote it (\"{value}\")",
                    self.kind_word()
                ))),
            },
            _ => Err(self.err(format!("expected a string, found {}", self.kind_word()))),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Seq(items) => v.visit_seq(Items {
                items: items.iter(),
                path: self.path.clone(),
                idx: 0,
                state: self.state,
            }),
            _ if self.node.is_null() => v.visit_seq(Items {
                items: [].iter(),
                path: self.path.clone(),
                idx: 0,
                state: self.state,
            }),
            _ => Err(self.err(format!("expected a list, found {}", self.kind_word()))),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Map(entries) => v.visit_map(Entries::new(entries, None, &self)),
            _ if self.node.is_null() => v.visit_map(Entries::new(&[], None, &self)),
            _ => Err(self.err(format!("expected a mapping, found {}", self.kind_word()))),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Map(entries) => v.visit_map(Entries::new(entries, Some(fields), &self)),
            _ if self.node.is_null() => v.visit_map(Entries::new(&[], Some(fields), &self)),
            _ => Err(self.err(format!("expected a mapping, found {}", self.kind_word()))),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Scalar { value, .. } => {
                let d: de::value::StrDeserializer<'_, DeError> = value.as_str().into_deserializer();
                v.visit_enum(d)
            }
            _ => Err(self.err("expected a string")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

struct Items<'a> {
    items: std::slice::Iter<'a, Node>,
    path: String,
    idx: usize,
    state: &'a DeState,
}

impl<'de, 'a> SeqAccess<'de> for Items<'a> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        let path = format!("{}[{}]", self.path, self.idx);
        self.idx += 1;
        self.state
            .lines
            .borrow_mut()
            .entry(path.clone())
            .or_insert(node.line);
        seed.deserialize(NodeDe {
            node,
            path: path.clone(),
            state: self.state,
        })
        .map(Some)
        .map_err(|e| e.at(node, &path))
    }
}

struct Entries<'a> {
    entries: Vec<&'a Entry>,
    pos: usize,
    path: String,
    state: &'a DeState,
}

impl<'a> Entries<'a> {
    fn new(entries: &'a [Entry], fields: Option<&'static [&'static str]>, d: &NodeDe<'a>) -> Self {
        let mut kept = Vec::new();
        for e in entries {
            if let Some(fields) = fields
                && !fields.contains(&e.key.as_str())
            {
                let best = fields
                    .iter()
                    .map(|f| (strsim::jaro_winkler(f, &e.key), *f))
                    .filter(|(s, _)| *s > 0.8)
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                let rule = match best {
                    Some((_, f)) => format!("unknown field (did you mean {f}?)"),
                    None => format!("unknown field (known fields: {})", fields.join(", ")),
                };
                d.state.unknown.borrow_mut().push(FieldError {
                    path: join(&d.path, &e.key),
                    value: e.value.display_value(),
                    rule,
                    line: Some(e.line),
                    warning: false,
                });
                continue;
            }
            kept.push(e);
        }
        Entries {
            entries: kept,
            pos: 0,
            path: d.path.clone(),
            state: d.state,
        }
    }
}

impl<'de, 'a> MapAccess<'de> for Entries<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(e) = self.entries.get(self.pos) else {
            return Ok(None);
        };
        let path = join(&self.path, &e.key);
        self.state.lines.borrow_mut().entry(path).or_insert(e.line);
        let d: de::value::StrDeserializer<'_, DeError> = e.key.as_str().into_deserializer();
        seed.deserialize(d).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let e = *self
            .entries
            .get(self.pos)
            .ok_or_else(|| <DeError as de::Error>::custom("value requested before its key"))?;
        self.pos += 1;
        let path = join(&self.path, &e.key);
        seed.deserialize(NodeDe {
            node: &e.value,
            path: path.clone(),
            state: self.state,
        })
        .map_err(|err| err.at(&e.value, &path))
    }
}
