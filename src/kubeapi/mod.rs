//! Talking to the Kubernetes API with kube-rs: clients from kubeconfig files and
//! create-or-update helpers.
