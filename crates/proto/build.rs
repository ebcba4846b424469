//! Compiles every `.proto` under `proto/` with the vendored `protoc` (never the machine's), writes
//! the file descriptor set used by gRPC reflection, and generates from it the `Event` and `Edge` impls.

#[path = "build/descriptors.rs"]
mod descriptors;
#[path = "build/edge.rs"]
mod edge;
#[path = "build/events.rs"]
mod events;

use std::path::{Path, PathBuf};

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // tonic-prost-build does not emit rerun-if-changed for the inputs; do it for the whole tree.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut protos = Vec::new();
    collect_protos(&root, &mut protos)?;
    protos.sort();
    for p in &protos {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let include = protoc_bin_vendored::include_path()?;
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(&protoc);
    tonic_prost_build::configure()
        // RPCs a service has not implemented yet answer UNIMPLEMENTED instead of failing to compile.
        .generate_default_stubs(true)
        .file_descriptor_set_path(out.join("pdop_descriptor.bin"))
        .compile_with_config(config, &protos, &[root, include.clone()])?;
    let set =
        prost_types::FileDescriptorSet::decode(std::fs::read(out.join("pdop_descriptor.bin"))?.as_slice())?;
    std::fs::write(out.join("events.rs"), events::generate(&set))?;
    let pdop_or_well_known = |package: &str| package.starts_with("pdop.") || package == "google.protobuf";
    std::fs::write(
        out.join("edge.rs"),
        edge::generate(&set, pdop_or_well_known, true),
    )?;
    edge::generate_fixture(&out, &protoc, &include)?;
    Ok(())
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
