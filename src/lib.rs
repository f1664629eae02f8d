//! kubestrap: bootstrap a Kubernetes control plane the way `kubeadm init` and
//! `kubeadm join` do, behind an interactive terminal wizard.
//!
//! Layout: [`config`] (the kubeadm configuration API), [`host`] (all access to the
//! machine), [`engine`] (phases and events), [`phases`] (what each kubeadm phase does),
//! [`pki`], [`kubeapi`], the faces [`tui`] and [`output`], and [`cli`]/[`cmd`].

pub mod cli;
pub mod cmd;
pub mod config;
pub mod day2;
pub mod engine;
pub mod host;
pub mod join;
pub mod jws;
pub mod kubeapi;
pub mod output;
pub mod phases;
pub mod pki;
pub mod tui;
