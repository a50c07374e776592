//! Build script: compiles `proto/*.proto` into Rust types in `OUT_DIR`.
//!
//! `protox` parses the contracts in pure Rust, so no system `protoc` is needed; `prost-build`
//! then generates the code from the resulting descriptor set. The crate includes the result as
//! a private module (see `src/codec.rs`).

use std::path::{Path, PathBuf};

/// Name of the generated file that includes one module per proto package.
const INCLUDE_FILE: &str = "keyward_protobuf.rs";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = Path::new("proto");
    println!("cargo:rerun-if-changed={}", proto_dir.display());

    let mut protos: Vec<PathBuf> = std::fs::read_dir(proto_dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    protos.retain(|path| path.extension().is_some_and(|ext| ext == "proto"));
    // Sorted so the generated code does not depend on directory order.
    protos.sort();
    for path in &protos {
        println!("cargo:rerun-if-changed={}", path.display());
    }

    let descriptors = protox::compile(&protos, [proto_dir])?;
    prost_build::Config::new()
        .include_file(INCLUDE_FILE)
        .compile_fds(descriptors)?;
    Ok(())
}
