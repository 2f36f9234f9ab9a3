//! Installing a task's package: fetched from its locator (or a local copy),
//! checked against the sha256 the task records, and unpacked read-only into
//! a cache named by that sha256. Nothing that fails the check is unpacked.

use std::{
    io::Read,
    os::unix::fs::PermissionsExt,
    path::{Component, Path, PathBuf},
    time::Duration,
};

use super::{
    hex,
    manifest::{Manifest, MANIFEST},
    pack::{MAX_PACKAGE_BYTES, MAX_PACKAGE_ENTRIES},
};
use crate::sandbox;

fn sha256(bytes: &[u8]) -> [u8; 32] {
    solana_sha256_hasher::hash(bytes).to_bytes()
}

/// Longest a package download may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a package could not be installed.
#[derive(Debug)]
pub enum InstallError {
    /// Its locator could not be reached: a network failure, worth retrying.
    Unreachable(String),
    /// The package, or the input naming it, is wrong: its sha256, its contents.
    Refused(String),
}

impl std::fmt::Display for InstallError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(message) | Self::Refused(message) => formatter.write_str(message),
        }
    }
}

impl From<String> for InstallError {
    fn from(message: String) -> Self {
        Self::Refused(message)
    }
}

/// A package ready to run.
#[derive(Clone, Debug)]
pub struct Installed {
    pub sha256: [u8; 32],
    /// What the task may read: the unpacked package, or the single file.
    pub root: PathBuf,
    /// The file its runtime runs.
    pub entry: PathBuf,
    /// `None` for a single executable file.
    pub manifest: Option<Manifest>,
    /// A single file run where it lies (`--executable`): its sha256 is checked again before each call.
    pub in_place: bool,
}

impl Installed {
    /// The runtime: the manifest's, or the single file's `#!` line's.
    pub fn runtime(&self) -> Result<sandbox::Runtime, String> {
        match &self.manifest {
            Some(manifest) => sandbox::resolve_runtime(&manifest.runtime),
            None => {
                let mut head = [0u8; 256];
                let read = std::fs::File::open(&self.entry)
                    .and_then(|mut file| file.read(&mut head))
                    .map_err(|error| format!("cannot read {}: {error}", self.entry.display()))?;
                match sandbox::shebang_runtime(&head[..read]) {
                    Some(name) => {
                        let mut runtime = sandbox::resolve_runtime(&name)?;
                        // The kernel runs the `#!` line itself.
                        runtime.program = None;
                        Ok(runtime)
                    }
                    None => sandbox::resolve_runtime("native"),
                }
            }
        }
    }

    pub fn capabilities(&self) -> super::Capabilities {
        self.manifest.as_ref().map(|manifest| manifest.capabilities.clone()).unwrap_or_default()
    }
}

/// The default cache: `~/.cache/gradual/packages`.
pub fn default_cache() -> PathBuf {
    dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("gradual").join("packages")
}

/// Whether `bytes` are a package: a tar archive whose first entry is the manifest.
pub fn is_package(bytes: &[u8]) -> bool {
    let mut archive = tar::Archive::new(bytes);
    let first = archive.entries().ok().and_then(|mut entries| entries.next());
    matches!(first, Some(Ok(entry)) if entry.path().ok().is_some_and(|path| path == Path::new(MANIFEST)))
}

fn check_sha256(bytes: &[u8], expected: &[u8; 32], source: &str) -> Result<(), String> {
    let actual = sha256(bytes);
    if actual != *expected {
        return Err(format!(
            "{source} has sha256 {}, but the task records {}; refusing to run it",
            hex(&actual),
            hex(expected)
        ));
    }
    Ok(())
}

/// A local copy, for development: a package is unpacked into the cache, a
/// single file runs where it lies.
pub fn install_local(path: &Path, expected: &[u8; 32], cache: &Path) -> Result<Installed, String> {
    let path = std::fs::canonicalize(path)
        .map_err(|error| format!("cannot find executable {}: {error}", path.display()))?;
    let bytes = std::fs::read(&path)
        .map_err(|error| format!("cannot read executable {}: {error}", path.display()))?;
    check_sha256(&bytes, expected, &format!("executable {}", path.display()))?;
    if is_package(&bytes) {
        return unpack_cached(&bytes, expected, cache);
    }
    Ok(Installed { sha256: *expected, root: path.clone(), entry: path, manifest: None, in_place: true })
}

/// The package a locator names: from the cache when it is there, else
/// fetched (an `http(s)` URL) or read (a path), checked and unpacked.
pub fn install(
    locator: &str,
    expected: &[u8; 32],
    cache: &Path,
    runtime: &tokio::runtime::Runtime,
) -> Result<Installed, InstallError> {
    if let Some(installed) = cached(expected, cache)? {
        return Ok(installed);
    }
    let bytes = if locator.starts_with("http://") || locator.starts_with("https://") {
        runtime.block_on(download(locator)).map_err(InstallError::Unreachable)?
    } else {
        let path = Path::new(locator.strip_prefix("file://").unwrap_or(locator));
        let size = std::fs::metadata(path)
            .map_err(|error| format!("cannot read the package {locator}: {error}"))?
            .len();
        if size > MAX_PACKAGE_BYTES {
            return Err(format!("the package {locator} is over {} MiB", MAX_PACKAGE_BYTES >> 20).into());
        }
        std::fs::read(path).map_err(|error| format!("cannot read the package {locator}: {error}"))?
    };
    check_sha256(&bytes, expected, &format!("the package at {locator}"))?;
    Ok(unpack_cached(&bytes, expected, cache)?)
}

async fn download(url: &str) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|error| format!("cannot fetch {url}: {error}"))?;
    let mut response = client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| format!("cannot fetch the package {url}: {error}"))?;
    let mut bytes = Vec::new();
    while let Some(chunk) =
        response.chunk().await.map_err(|error| format!("cannot fetch the package {url}: {error}"))?
    {
        if bytes.len().saturating_add(chunk.len()) as u64 > MAX_PACKAGE_BYTES {
            return Err(format!("the package {url} is over {} MiB; refusing it", MAX_PACKAGE_BYTES >> 20));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// What the cache holds for `sha256`, if it holds it whole.
fn cached(sha256: &[u8; 32], cache: &Path) -> Result<Option<Installed>, String> {
    let dir = cache.join(hex(sha256));
    let single = dir.join("task");
    if single.is_file() {
        return Ok(Some(Installed {
            sha256: *sha256,
            root: single.clone(),
            entry: single,
            manifest: None,
            in_place: false,
        }));
    }
    let root = dir.join("package");
    let Ok(text) = std::fs::read_to_string(root.join(MANIFEST)) else { return Ok(None) };
    let manifest = Manifest::parse(&text)?;
    let entry = root.join(&manifest.entry);
    Ok(Some(Installed { sha256: *sha256, root, entry, manifest: Some(manifest), in_place: false }))
}

fn make_read_only(path: &Path, mode: u32) -> Result<(), String> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|error| format!("cannot protect {}: {error}", path.display()))
}

/// Installs package bytes whose sha256 the caller computed or checked.
pub fn install_bytes(bytes: &[u8], sha256: &[u8; 32], cache: &Path) -> Result<Installed, String> {
    unpack_cached(bytes, sha256, cache)
}

/// Unpacks checked bytes into `cache/<sha256>/`, through a temporary
/// directory renamed into place, so a half-written package is never used.
fn unpack_cached(bytes: &[u8], sha256: &[u8; 32], cache: &Path) -> Result<Installed, String> {
    if let Some(installed) = cached(sha256, cache)? {
        return Ok(installed);
    }
    std::fs::create_dir_all(cache).map_err(|error| format!("cannot create {}: {error}", cache.display()))?;
    // Named by process and by call: two tasks of one node may install the same package at once.
    static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let staging = cache.join(format!(".{}.{}.{call}", hex(sha256), std::process::id()));
    let _ = remove_tree(&staging);
    std::fs::create_dir(&staging).map_err(|error| format!("cannot create {}: {error}", staging.display()))?;
    let unpacked = if is_package(bytes) {
        unpack(bytes, &staging.join("package"))
    } else {
        let file = staging.join("task");
        std::fs::write(&file, bytes)
            .map_err(|error| format!("cannot write {}: {error}", file.display()))
            .and_then(|()| make_read_only(&file, 0o555))
    };
    let finished = unpacked.and_then(|()| make_read_only(&staging, 0o555)).and_then(|()| {
        std::fs::rename(&staging, cache.join(hex(sha256)))
            .map_err(|error| format!("cannot move the package into {}: {error}", cache.display()))
    });
    if let Err(error) = finished {
        let _ = remove_tree(&staging);
        // Another process may have installed the same package meanwhile.
        return cached(sha256, cache)?.ok_or(error);
    }
    cached(sha256, cache)?.ok_or_else(|| format!("the package {} vanished from the cache", hex(sha256)))
}

/// Removes a tree that may have been made read-only.
fn remove_tree(path: &Path) -> std::io::Result<()> {
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
        for entry in std::fs::read_dir(&dir)?.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                pending.push(entry.path());
            }
        }
    }
    std::fs::remove_dir_all(path)
}

/// Unpacks only regular files and directories with relative paths; files
/// are read-only, executable where the archive says so.
fn unpack(bytes: &[u8], root: &Path) -> Result<(), String> {
    std::fs::create_dir(root).map_err(|error| format!("cannot create {}: {error}", root.display()))?;
    let mut archive = tar::Archive::new(bytes);
    let entries = archive.entries().map_err(|error| format!("the package is not a tar archive: {error}"))?;
    let mut directories = Vec::new();
    for (index, entry) in entries.enumerate() {
        if index >= MAX_PACKAGE_ENTRIES {
            return Err(format!(
                "the package holds more than {MAX_PACKAGE_ENTRIES} files and directories; refusing it"
            ));
        }
        let mut entry = entry.map_err(|error| format!("the package is malformed: {error}"))?;
        let relative =
            entry.path().map_err(|error| format!("the package is malformed: {error}"))?.into_owned();
        if !relative.components().all(|part| matches!(part, Component::Normal(_))) {
            return Err(format!(
                "the package holds the path {}, outside its root; refusing it",
                relative.display()
            ));
        }
        let target = root.join(&relative);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target)
                    .map_err(|error| format!("cannot create {}: {error}", target.display()))?;
                directories.push(target);
            }
            tar::EntryType::Regular => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
                }
                let executable = entry.header().mode().is_ok_and(|mode| mode & 0o100 != 0);
                let mut file = std::fs::File::create_new(&target)
                    .map_err(|error| format!("cannot unpack {}: {error}", relative.display()))?;
                std::io::copy(&mut entry, &mut file)
                    .map_err(|error| format!("cannot unpack {}: {error}", relative.display()))?;
                make_read_only(&target, if executable { 0o555 } else { 0o444 })?;
            }
            other => {
                return Err(format!(
                    "the package holds {} of type {other:?}; only files and directories are allowed",
                    relative.display()
                ));
            }
        }
    }
    let text = std::fs::read_to_string(root.join(MANIFEST))
        .map_err(|error| format!("the package has no manifest: {error}"))?;
    let manifest = Manifest::parse(&text)?;
    if !root.join(&manifest.entry).is_file() {
        return Err(format!("{MANIFEST}: the entry {} is not in the package", manifest.entry));
    }
    // Deepest first, so a parent is protected after its children.
    directories.sort_by_key(|dir| std::cmp::Reverse(dir.components().count()));
    for dir in directories.iter().map(PathBuf::as_path).chain([root]) {
        make_read_only(dir, 0o555)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive whose first entry is a valid manifest, then `entry` as written, byte for byte.
    fn archive(entry: &[u8], kind: tar::EntryType) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let manifest = b"entry = \"t.py\"\nruntime = \"python3\"\n";
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, MANIFEST, &manifest[..]).expect("manifest");
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..entry.len()].copy_from_slice(entry);
        header.set_size(1);
        header.set_mode(0o644);
        header.set_entry_type(kind);
        header.set_cksum();
        builder.append(&header, &b"x"[..]).expect("entry");
        builder.into_inner().expect("archive")
    }

    #[test]
    fn hostile_archives_are_refused_and_nothing_stays_in_the_cache() {
        let cache = tempfile::tempdir().expect("temp dir");
        for (entry, kind, expected) in [
            (&b"../escape"[..], tar::EntryType::Regular, "outside its root"),
            (&b"/etc/escape"[..], tar::EntryType::Regular, "outside its root"),
            (&b"link"[..], tar::EntryType::Symlink, "only files and directories"),
            (&b"fifo"[..], tar::EntryType::Fifo, "only files and directories"),
        ] {
            let bytes = archive(entry, kind);
            let error = install_bytes(&bytes, &sha256(&bytes), cache.path()).expect_err("refused");
            assert!(error.contains(expected), "{error}");
        }
        assert_eq!(std::fs::read_dir(cache.path()).expect("cache").count(), 0, "nothing was left behind");
    }

    #[test]
    fn a_package_whose_bytes_differ_from_the_pinned_sha256_is_never_unpacked() {
        let cache = tempfile::tempdir().expect("temp dir");
        let dir = tempfile::tempdir().expect("temp dir");
        let package = dir.path().join("task.tar");
        std::fs::write(&package, archive(b"t.py", tar::EntryType::Regular)).expect("write");
        let locator = package.display().to_string();
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let error = install(&locator, &[9; 32], cache.path(), &runtime).expect_err("refused").to_string();
        assert!(error.contains("refusing to run it"), "{error}");
        assert!(!cache.path().exists() || std::fs::read_dir(cache.path()).expect("cache").count() == 0);
        let pinned = sha256(&std::fs::read(&package).expect("read"));
        let installed = install(&locator, &pinned, cache.path(), &runtime).expect("installed");
        assert!(installed.entry.ends_with("package/t.py") && installed.manifest.is_some());
        let mode = std::fs::metadata(&installed.entry).expect("entry").permissions().mode();
        assert_eq!(mode & 0o222, 0, "the unpacked package is read-only");
    }
}
