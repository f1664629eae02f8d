//! Test support: a generated PKI, the strict test apiserver, and the real Kubernetes
//! binaries of scripts/k8s-bins.sh.

pub mod apiserver;
pub mod k8s;
pub mod netns;
pub mod node;
pub mod pki;
pub mod pty;
pub mod roots;
pub mod staticpods;
