//! The phases of `kubestrap init` and `kubestrap join`, one module per phase family,
//! named as kubeadm names them.

pub mod certs;
pub mod control_plane;
pub mod etcd;
pub mod kubeconfig;
pub mod kubelet;
pub mod preflight;
pub mod staticpod;
