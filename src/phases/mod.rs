//! The phases of `kubestrap init` and `kubestrap join`, one module per phase family,
//! named as kubeadm names them.

pub mod addons;
pub mod bootstrap_token;
pub mod certs;
pub mod container_runtime;
pub mod control_plane;
pub mod etcd;
pub mod external_ca;
pub mod kubeconfig;
pub mod kubelet;
pub mod kubelet_finalize;
pub mod mark_control_plane;
pub mod preflight;
pub mod show_join;
pub mod staticpod;
pub mod upgrade;
pub mod upload_certs;
pub mod upload_config;
pub mod wait_control_plane;
pub mod workflow;

pub use workflow::init_workflow;

/// Builds the static Pod of any component (etcd's builder is in [`etcd`], the others in
/// [`control_plane`]; both use [`staticpod`] as their toolkit).
pub use control_plane::build_pod;
