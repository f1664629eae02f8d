//! The kubeadm configuration API: load (v1beta2/v1beta3/v1beta4), default, validate, export.
//!
//! Entry points: [`load::load_documents`] (text → typed documents with lines and warnings),
//! [`resolve_init`] (flags over file over defaults, sources, validation),
//! [`validate::validate_init`] / [`validate::validate_join`] and the per-field validators,
//! [`export::export_init`] / [`export::export_join`], [`flags::known_flags`].

pub mod arg_paths;
pub mod component_fields;
pub mod de;
pub mod defaults;
pub mod duration;
pub mod export;
pub mod flags;
pub mod gates;
pub mod load;
pub mod net;
pub mod overlay;
pub mod token;
pub mod types;
pub mod v1beta2;
pub mod v1beta3;
pub mod validate;
pub mod validate_values;
pub mod versions;
pub mod yaml11;

pub use duration::GoDuration;
pub use load::{ApiVersion, ConfigErrors, Loaded};
pub use overlay::resolve_init;
pub use types::*;
pub use validate::FieldError;
