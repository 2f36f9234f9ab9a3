//! The Landlock ruleset of a call: what it may read, write and connect to.

use std::path::{Path, PathBuf};

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, Ruleset, RulesetAttr,
    RulesetCreated, RulesetCreatedAttr, Scope, ABI,
};

use super::Policy;

/// Landlock ABI 6 is the first that scopes signals and abstract sockets;
/// ABI 4 brought TCP ports. Anything older is refused, not weakened.
const ABI_NEEDED: ABI = ABI::V6;

/// Host directories every runtime needs: its libraries and programs.
const SYSTEM_READABLE: &[&str] = &["/usr", "/lib", "/lib64", "/bin", "/sbin"];

/// The files under `/etc` that the dynamic linker, name resolution, time
/// zones and TLS read. Not all of `/etc`: it holds the host's secrets.
const ETC_READABLE: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/resolv.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/passwd",
    "/etc/group",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/mime.types",
    "/etc/alternatives",
];

/// Devices a process expects to read and write.
const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"];

fn ruleset() -> Result<Ruleset, landlock::RulesetError> {
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(ABI_NEEDED))?
        .handle_access(AccessNet::from_all(ABI_NEEDED))?
        .scope(Scope::from_all(ABI_NEEDED))
}

/// Refuses a kernel whose Landlock cannot enforce every rule.
pub fn check_abi() -> Result<(), String> {
    ruleset().and_then(Ruleset::create).map(drop).map_err(|error| {
        format!("Landlock ABI 6 (file, TCP port, signal and socket rules) is not available on this kernel: {error}")
    })
}

fn existing(paths: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    paths.into_iter().filter(|path| path.exists()).collect()
}

/// The ruleset for `policy`, created but not yet applied.
pub fn build(policy: &Policy) -> Result<RulesetCreated, String> {
    let read = AccessFs::from_read(ABI_NEEDED);
    let device = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev;
    let readable = existing(
        SYSTEM_READABLE.iter().chain(ETC_READABLE).map(PathBuf::from).chain(policy.readable.iter().cloned()),
    );
    let ports = policy.ports.iter().flatten().map(|port| Ok(NetPort::new(*port, AccessNet::ConnectTcp)));
    let created = ruleset()
        .and_then(Ruleset::create)
        .and_then(|ruleset| ruleset.add_rules(path_beneath_rules(readable, read)))
        .and_then(|ruleset| {
            ruleset.add_rules(path_beneath_rules(existing(DEVICES.iter().map(PathBuf::from)), device))
        })
        .and_then(|ruleset| {
            ruleset
                .add_rules(path_beneath_rules([Path::new(&policy.work_dir)], AccessFs::from_all(ABI_NEEDED)))
        })
        .and_then(|ruleset| ruleset.add_rules(ports));
    created.map_err(|error| format!("cannot build the Landlock rules: {error}"))
}
