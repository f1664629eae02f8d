//! The cluster PKI: certificate specs (kubeadm's certificate list), key generation,
//! issuing with rcgen, loading and verifying existing files, and the CA pin.
