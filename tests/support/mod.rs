//! Test support: a generated PKI and the strict test apiserver.

pub mod apiserver;
pub mod pki;
