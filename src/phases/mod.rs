//! The phases of `kubestrap init` and `kubestrap join`, one module per phase family,
//! named as kubeadm names them.

pub mod certs;
pub mod kubeconfig;
pub mod kubelet;
pub mod preflight;
