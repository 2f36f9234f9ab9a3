//! Where the CLI finds its cluster and keypair, following the Solana CLI:
//! `-u/--url` with monikers, `-k/--keypair`, `--commitment`, and the Solana
//! CLI's config file for whatever is not given.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;

use super::CliError;

/// The parts of `~/.config/solana/cli/config.yml` the CLI uses.
#[derive(Debug, Default, Deserialize)]
struct SolanaConfig {
    json_rpc_url: Option<String>,
    keypair_path: Option<String>,
    commitment: Option<String>,
}

fn home() -> PathBuf {
    dirs::home_dir().unwrap_or_else(|| PathBuf::from("."))
}

pub fn default_config_path() -> PathBuf {
    home().join(".config/solana/cli/config.yml")
}

/// The resolved settings of one invocation.
pub struct Settings {
    pub url: String,
    pub keypair_path: PathBuf,
    pub commitment: CommitmentConfig,
}

/// Expands the Solana CLI's URL monikers.
pub fn expand_url(url: &str) -> Result<String, CliError> {
    let expanded = match url {
        "l" | "localhost" => "http://127.0.0.1:8899",
        "d" | "devnet" => "https://api.devnet.solana.com",
        "t" | "testnet" => "https://api.testnet.solana.com",
        "m" | "mainnet-beta" => "https://api.mainnet-beta.solana.com",
        other if other.starts_with("http://") || other.starts_with("https://") => other,
        other => {
            return Err(CliError::usage(format!(
                "--url {other:?} is neither http(s)://... nor one of localhost, devnet, testnet, mainnet-beta"
            )))
        }
    };
    Ok(expanded.to_string())
}

fn parse_commitment(text: &str) -> Result<CommitmentConfig, CliError> {
    match text {
        "processed" => Ok(CommitmentConfig::processed()),
        "confirmed" => Ok(CommitmentConfig::confirmed()),
        "finalized" => Ok(CommitmentConfig::finalized()),
        other => Err(CliError::usage(format!(
            "--commitment {other:?} is not one of processed, confirmed, finalized"
        ))),
    }
}

pub fn resolve(
    config_path: Option<&Path>,
    url: Option<&str>,
    keypair: Option<&Path>,
    commitment: Option<&str>,
) -> Result<Settings, CliError> {
    let path = config_path.map_or_else(default_config_path, Path::to_path_buf);
    let file = match std::fs::read_to_string(&path) {
        Ok(text) => serde_yaml::from_str::<SolanaConfig>(&text).map_err(|error| {
            CliError::usage(format!("config file {} is not valid: {error}", path.display()))
        })?,
        Err(_) if config_path.is_none() => SolanaConfig::default(),
        Err(error) => {
            return Err(CliError::usage(format!("cannot read config file {}: {error}", path.display())))
        }
    };
    let url = expand_url(url.or(file.json_rpc_url.as_deref()).unwrap_or("localhost"))?;
    let keypair_path = keypair
        .map(Path::to_path_buf)
        .or(file.keypair_path.map(PathBuf::from))
        .unwrap_or_else(|| home().join(".config/solana/id.json"));
    let commitment = parse_commitment(commitment.or(file.commitment.as_deref()).unwrap_or("confirmed"))?;
    Ok(Settings { url, keypair_path, commitment })
}

/// Settings for commands that never reach a cluster or sign.
pub fn resolve_offline() -> Settings {
    Settings {
        url: "http://127.0.0.1:8899".to_string(),
        keypair_path: home().join(".config/solana/id.json"),
        commitment: CommitmentConfig::confirmed(),
    }
}

/// Reads a Solana keypair file (a JSON array of 64 bytes), refusing one that
/// anybody but its owner can read.
pub fn read_keypair(path: &Path) -> Result<Keypair, CliError> {
    let metadata = std::fs::metadata(path)
        .map_err(|error| CliError::usage(format!("cannot read keypair {}: {error}", path.display())))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CliError::usage(format!(
            "keypair {} can be read by others (mode {mode:o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| CliError::usage(format!("cannot read keypair {}: {error}", path.display())))?;
    let bytes: Vec<u8> = serde_json::from_str(&text).map_err(|_| {
        CliError::usage(format!("keypair {} is not a JSON array of 64 bytes", path.display()))
    })?;
    Keypair::try_from(bytes.as_slice())
        .map_err(|_| CliError::usage(format!("keypair {} is not a valid ed25519 keypair", path.display())))
}

/// Writes `keypair` in the Solana format, readable only by its owner.
pub fn write_keypair(path: &Path, keypair: &Keypair, force: bool) -> Result<(), CliError> {
    if path.exists() && !force {
        return Err(CliError::usage(format!("{} exists; pass --force to overwrite it", path.display())));
    }
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|error| CliError::failed(format!("cannot create {}: {error}", parent.display())))?;
    }
    let json = serde_json::to_string(&keypair.to_bytes().to_vec())
        .map_err(|error| CliError::failed(error.to_string()))?;
    // Written to a new 0600 file beside the target, then renamed over it: the
    // secret never lands in an existing file or through a symlink.
    let temporary = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temporary)
        .and_then(|mut file| {
            std::io::Write::write_all(&mut file, json.as_bytes()).and_then(|()| file.sync_all())
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        CliError::failed(format!("cannot write {}: {error}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monikers_expand_like_the_solana_cli() {
        assert_eq!(expand_url("localhost").expect("url"), "http://127.0.0.1:8899");
        assert_eq!(expand_url("devnet").expect("url"), "https://api.devnet.solana.com");
        assert_eq!(expand_url("mainnet-beta").expect("url"), "https://api.mainnet-beta.solana.com");
        assert_eq!(expand_url("http://10.0.0.1:8899").expect("url"), "http://10.0.0.1:8899");
        assert_eq!(expand_url("ftp://x").expect_err("refused").code, 2);
    }

    #[test]
    fn keypairs_readable_by_others_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("id.json");
        let keypair = Keypair::new();
        write_keypair(&path, &keypair, false).expect("write");
        assert_eq!(std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o600);
        assert_eq!(read_keypair(&path).expect("read").to_bytes(), keypair.to_bytes());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        assert!(read_keypair(&path).expect_err("refused").message.contains("chmod 600"));
        assert!(write_keypair(&path, &keypair, false).is_err(), "no silent overwrite");
    }
}
