//! The kubeadm configuration API: load (v1beta2/v1beta3/v1beta4), default, validate, export.

pub mod defaults;
pub mod duration;
pub mod net;
pub mod token;
pub mod types;
pub mod versions;

pub use duration::GoDuration;
pub use types::*;
