//! The non-interactive faces: kubeadm-like plain text and JSON lines.
