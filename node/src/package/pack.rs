//! `gradual task pack DIR`: a directory as a reproducible tar archive.
//!
//! The manifest is the first entry, then every other file and directory in
//! byte order of its path. Each header carries only the path, the size and
//! a mode of 0644 or 0755 (from the owner's execute bit): no owner, no
//! times. The same tree therefore always gives the same bytes. A symbolic
//! link to a file is packed as the file; a link to a directory is refused.

use std::path::{Path, PathBuf};

use super::manifest::{Manifest, MANIFEST};

/// Largest package the node accepts, packed or fetched.
pub const MAX_PACKAGE_BYTES: u64 = 256 << 20;

/// Most files and directories a package may hold: a tree of tiny files
/// within the size limit must not exhaust the operator's inodes.
pub const MAX_PACKAGE_ENTRIES: usize = 100_000;

/// A file or directory of the tree, relative to its root.
struct Item {
    relative: String,
    path: PathBuf,
    directory: bool,
    executable: bool,
}

fn walk(root: &Path, dir: &Path, items: &mut Vec<Item>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
        let path = entry.path();
        // A link to a file is packed as that file (the SDK examples link to the SDK).
        let linked = std::fs::symlink_metadata(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?
            .file_type()
            .is_symlink();
        let metadata =
            std::fs::metadata(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let relative = path
            .strip_prefix(root)
            .ok()
            .and_then(Path::to_str)
            .ok_or_else(|| format!("{} has a name that is not UTF-8", path.display()))?
            .to_string();
        if linked && metadata.is_dir() {
            return Err(format!(
                "{relative} is a symbolic link to a directory; a package holds only files and directories"
            ));
        }
        if !metadata.is_dir() && !metadata.is_file() {
            return Err(format!("{relative} is neither a file nor a directory"));
        }
        use std::os::unix::fs::PermissionsExt;
        let executable = metadata.permissions().mode() & 0o100 != 0;
        items.push(Item { relative, path: path.clone(), directory: metadata.is_dir(), executable });
        if metadata.is_dir() {
            walk(root, &path, items)?;
        }
    }
    Ok(())
}

/// Packs `dir`, which must hold a valid manifest, into archive bytes.
pub fn pack(dir: &Path) -> Result<(Manifest, Vec<u8>), String> {
    let text = std::fs::read_to_string(dir.join(MANIFEST))
        .map_err(|error| format!("cannot read {}: {error}", dir.join(MANIFEST).display()))?;
    let manifest = Manifest::parse(&text)?;
    if !dir.join(&manifest.entry).is_file() {
        return Err(format!("{MANIFEST}: the entry {} is not a file in {}", manifest.entry, dir.display()));
    }
    let mut items = Vec::new();
    walk(dir, dir, &mut items)?;
    if items.len() > MAX_PACKAGE_ENTRIES {
        return Err(format!(
            "{} holds {} files and directories, more than a package may ({})",
            dir.display(),
            items.len(),
            MAX_PACKAGE_ENTRIES
        ));
    }
    items.sort_by(|a, b| {
        (a.relative != MANIFEST, a.relative.as_bytes()).cmp(&(b.relative != MANIFEST, b.relative.as_bytes()))
    });
    let mut builder = tar::Builder::new(Vec::new());
    let mut total: u64 = 0;
    for item in &items {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if item.directory {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder
                .append_data(&mut header, format!("{}/", item.relative), std::io::empty())
                .map_err(|error| format!("cannot pack {}: {error}", item.relative))?;
            continue;
        }
        let bytes = std::fs::read(&item.path)
            .map_err(|error| format!("cannot read {}: {error}", item.path.display()))?;
        total = total.saturating_add(bytes.len() as u64);
        if total > MAX_PACKAGE_BYTES {
            return Err(format!("the package would be over {} MiB", MAX_PACKAGE_BYTES >> 20));
        }
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(if item.executable { 0o755 } else { 0o644 });
        header.set_size(bytes.len() as u64);
        builder
            .append_data(&mut header, &item.relative, bytes.as_slice())
            .map_err(|error| format!("cannot pack {}: {error}", item.relative))?;
    }
    let bytes = builder.into_inner().map_err(|error| format!("cannot finish the archive: {error}"))?;
    Ok((manifest, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_tree_packs_to_the_same_bytes_manifest_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(MANIFEST), "entry = \"z.py\"\nruntime = \"python3\"\n")
            .expect("manifest");
        std::fs::create_dir(dir.path().join("lib")).expect("dir");
        std::fs::write(dir.path().join("lib/a.py"), "a").expect("file");
        std::fs::write(dir.path().join("z.py"), "z").expect("file");
        let (_, first) = pack(dir.path()).expect("pack");
        // Touch every file: times and the order they were written in do not count.
        std::fs::write(dir.path().join("z.py"), "z").expect("file");
        std::fs::write(dir.path().join("lib/a.py"), "a").expect("file");
        let (_, second) = pack(dir.path()).expect("pack");
        assert_eq!(first, second);
        let mut archive = tar::Archive::new(&first[..]);
        let paths: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|entry| entry.expect("entry").path().expect("path").display().to_string())
            .collect();
        assert_eq!(paths, [MANIFEST, "lib/", "lib/a.py", "z.py"]);
        std::fs::write(dir.path().join("z.py"), "changed").expect("file");
        assert_ne!(pack(dir.path()).expect("pack").1, first, "a changed file changes the package");
    }
}
