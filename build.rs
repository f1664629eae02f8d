//! Compiles the CRI v1 API (proto/cri-api/api.proto, from k8s.io/cri-api) into a tonic client
//! with protox, so building kubestrap needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/cri-api/api.proto");
    let fds = protox::compile(["api.proto"], ["proto/cri-api"])?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
