//! Task packages (`docs/external-tasks.md`, "Packages"): a directory with a
//! manifest at its root, packed into a reproducible tar archive whose sha256
//! the task records on-chain; or, as before, a single executable file.

mod install;
mod manifest;
mod pack;

pub use install::{
    default_cache, install, install_bytes, install_local, is_package, InstallError, Installed, FETCH_TIMEOUT,
};
pub use manifest::{Capabilities, Manifest, MANIFEST};
pub use pack::{pack, MAX_PACKAGE_BYTES};

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The sha256 a task records for a local copy: a directory's is its package's.
pub fn sha256_of(path: &std::path::Path) -> Result<[u8; 32], String> {
    let bytes = if path.is_dir() {
        pack(path)?.1
    } else {
        std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?
    };
    Ok(solana_sha256_hasher::hash(&bytes).to_bytes())
}
