//! A node's local state: one redb database per node, holding its results,
//! its proposed lists and a journal of what it has landed. It is what lets a
//! restarted node serve and submit work it did before the restart.

use std::path::Path;

use gradual_interface::Address;
use redb::{Database, ReadableTable, TableDefinition};

use crate::tasks::Leaves;

const RESULTS: TableDefinition<u64, &[u8]> = TableDefinition::new("results");
const LISTS: TableDefinition<u64, &[u8]> = TableDefinition::new("lists");
/// Rounds whose result may be served: their commitments are all in.
const PUBLISHED: TableDefinition<u64, ()> = TableDefinition::new("published");
/// `"<kind>/<round>"` to the number of transactions of that kind landed for that round.
const JOURNAL: TableDefinition<&str, u64> = TableDefinition::new("journal");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

pub struct Store {
    db: Database,
}

/// Why a database could not be pinned to a chain.
#[derive(Debug)]
pub enum PinError {
    /// It belongs to another chain: bad input.
    OtherChain(String),
    /// It could not be read or written.
    Failed(String),
}

fn failed(error: impl std::fmt::Display) -> String {
    format!("local database: {error}")
}

impl Store {
    /// Opens (or creates) the database of `node` in `task`; refuses one that
    /// belongs to another node or task.
    pub fn open(path: &Path, task: &Address, node: &Address) -> Result<Self, String> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let db =
            Database::create(path).map_err(|error| format!("cannot open {}: {error}", path.display()))?;
        let mut owner = task.to_bytes().to_vec();
        owner.extend_from_slice(node.as_ref());
        let write = db.begin_write().map_err(failed)?;
        {
            let mut meta = write.open_table(META).map_err(failed)?;
            let existing = meta.get("owner").map_err(failed)?.map(|value| value.value().to_vec());
            match existing {
                Some(existing) if existing != owner => {
                    return Err(format!("{} belongs to another node or task", path.display()));
                }
                Some(_) => {}
                None => {
                    meta.insert("owner", owner.as_slice()).map_err(failed)?;
                }
            }
            write.open_table(RESULTS).map_err(failed)?;
            write.open_table(LISTS).map_err(failed)?;
            write.open_table(PUBLISHED).map_err(failed)?;
            write.open_table(JOURNAL).map_err(failed)?;
        }
        write.commit().map_err(failed)?;
        Ok(Self { db })
    }

    /// Pins the database to the chain whose genesis hash is `genesis`: the
    /// first call records it, later ones refuse another chain. A database
    /// of a reset local chain, or of another cluster, is not this chain's.
    pub fn pin_chain(&self, genesis: &[u8; 32]) -> Result<(), PinError> {
        let failed = |error: redb::Error| PinError::Failed(failed(error));
        let write = self.db.begin_write().map_err(|error| failed(error.into()))?;
        {
            let mut meta = write.open_table(META).map_err(|error| failed(error.into()))?;
            let pinned = meta
                .get("genesis")
                .map_err(|error| failed(error.into()))?
                .map(|value| value.value().to_vec());
            match pinned {
                Some(pinned) if pinned != genesis => {
                    let pinned = solana_hash::Hash::new_from_array(pinned.try_into().unwrap_or([0; 32]));
                    return Err(PinError::OtherChain(format!(
                        "this database belongs to the chain with genesis {pinned}, and the RPC URL serves genesis {}: a reset chain or another cluster; point --db at a new file, or -u at the right cluster",
                        solana_hash::Hash::new_from_array(*genesis)
                    )));
                }
                Some(_) => {}
                None => {
                    meta.insert("genesis", genesis.as_slice()).map_err(|error| failed(error.into()))?;
                }
            }
        }
        write.commit().map_err(|error| failed(error.into()))
    }

    pub fn put_result(&self, round: u64, result: &[u8]) -> Result<(), String> {
        let write = self.db.begin_write().map_err(failed)?;
        write.open_table(RESULTS).map_err(failed)?.insert(round, result).map_err(failed)?;
        write.commit().map_err(failed)
    }

    /// Lets the peer service serve `round`'s result from now on.
    pub fn publish(&self, round: u64) -> Result<(), String> {
        let write = self.db.begin_write().map_err(failed)?;
        write.open_table(PUBLISHED).map_err(failed)?.insert(round, ()).map_err(failed)?;
        write.commit().map_err(failed)
    }

    /// `round`'s result, if it is published.
    pub fn published_result(&self, round: u64) -> Result<Option<Vec<u8>>, String> {
        let read = self.db.begin_read().map_err(failed)?;
        if read.open_table(PUBLISHED).map_err(failed)?.get(round).map_err(failed)?.is_none() {
            return Ok(None);
        }
        self.result(round)
    }

    pub fn result(&self, round: u64) -> Result<Option<Vec<u8>>, String> {
        let read = self.db.begin_read().map_err(failed)?;
        let table = read.open_table(RESULTS).map_err(failed)?;
        Ok(table.get(round).map_err(failed)?.map(|value| value.value().to_vec()))
    }

    pub fn put_list(&self, round: u64, leaves: &Leaves) -> Result<(), String> {
        let json = serde_json::to_vec(&leaves_json(leaves)).map_err(failed)?;
        let write = self.db.begin_write().map_err(failed)?;
        write.open_table(LISTS).map_err(failed)?.insert(round, json.as_slice()).map_err(failed)?;
        write.commit().map_err(failed)
    }

    /// The list proposed for `round`, as served: JSON `[{"node", "amount"}]`.
    pub fn list(&self, round: u64) -> Result<Option<Vec<u8>>, String> {
        let read = self.db.begin_read().map_err(failed)?;
        let table = read.open_table(LISTS).map_err(failed)?;
        Ok(table.get(round).map_err(failed)?.map(|value| value.value().to_vec()))
    }

    /// The list kept for `round`, parsed back into leaves.
    pub fn leaves(&self, round: u64) -> Result<Option<Leaves>, String> {
        match self.list(round)? {
            None => Ok(None),
            Some(json) => parse_leaves(&json).map(Some),
        }
    }

    pub fn record(&self, kind: &str, round: u64) -> Result<(), String> {
        let key = format!("{kind}/{round}");
        let write = self.db.begin_write().map_err(failed)?;
        {
            let mut journal = write.open_table(JOURNAL).map_err(failed)?;
            let count = journal.get(key.as_str()).map_err(failed)?.map_or(0, |value| value.value());
            journal.insert(key.as_str(), count.saturating_add(1)).map_err(failed)?;
        }
        write.commit().map_err(failed)
    }

    /// Deletes the results, lists and journal entries of rounds before
    /// `oldest`, which no instruction can concern any more, so that the
    /// database stays the same size over a long run.
    pub fn forget_before(&self, oldest: u64) -> Result<(), String> {
        let write = self.db.begin_write().map_err(failed)?;
        {
            write.open_table(RESULTS).map_err(failed)?.retain_in(..oldest, |_, _| false).map_err(failed)?;
            write.open_table(LISTS).map_err(failed)?.retain_in(..oldest, |_, _| false).map_err(failed)?;
            write.open_table(PUBLISHED).map_err(failed)?.retain_in(..oldest, |_, _| false).map_err(failed)?;
            write
                .open_table(JOURNAL)
                .map_err(failed)?
                .retain(|key, _| journal_round(key).is_none_or(|round| round >= oldest))
                .map_err(failed)?;
        }
        write.commit().map_err(failed)
    }

    /// Every `(kind/round, count)` in the journal.
    pub fn journal(&self) -> Result<Vec<(String, u64)>, String> {
        let read = self.db.begin_read().map_err(failed)?;
        let table = read.open_table(JOURNAL).map_err(failed)?;
        let mut entries = Vec::new();
        for entry in table.iter().map_err(failed)? {
            let (key, value) = entry.map_err(failed)?;
            entries.push((key.value().to_string(), value.value()));
        }
        Ok(entries)
    }
}

/// The round of a journal key, `"<kind>/<round>"`.
fn journal_round(key: &str) -> Option<u64> {
    key.rsplit_once('/').and_then(|(_, round)| round.parse().ok())
}

/// Parses a served list, JSON `[{"node": "<address>", "amount": N}]`.
pub fn parse_leaves(json: &[u8]) -> Result<Leaves, String> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|error| format!("list is not JSON: {error}"))?;
    let entries = value.as_array().ok_or("list is not a JSON array")?;
    entries
        .iter()
        .map(|entry| {
            let node: Address =
                entry["node"].as_str().and_then(|text| text.parse().ok()).ok_or("bad node in list")?;
            let amount = entry["amount"].as_u64().ok_or("bad amount in list")?;
            Ok((node.to_bytes(), amount))
        })
        .collect()
}

pub fn leaves_json(leaves: &Leaves) -> serde_json::Value {
    leaves
        .iter()
        .map(|(node, amount)| serde_json::json!({ "node": Address::new_from_array(*node).to_string(), "amount": amount }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_survives_a_reopen_and_belongs_to_one_node() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("node.redb");
        let (task, node) = (Address::new_unique(), Address::new_unique());
        {
            let store = Store::open(&path, &task, &node).expect("open");
            store.put_result(4, b"work of round 4").expect("put");
            store.put_list(4, &vec![([1; 32], 10)]).expect("put list");
            store.record("SubmitProof", 4).expect("record");
            store.record("SubmitProof", 4).expect("record");
        }
        let store = Store::open(&path, &task, &node).expect("reopen");
        assert_eq!(store.result(4).expect("read").as_deref(), Some(&b"work of round 4"[..]));
        assert_eq!(store.result(5).expect("read"), None);
        assert_eq!(store.leaves(4).expect("read"), Some(vec![([1; 32], 10)]), "kept lists parse back");
        assert_eq!(store.journal().expect("journal"), vec![("SubmitProof/4".to_string(), 2)]);
        drop(store);
        let error = Store::open(&path, &task, &Address::new_unique()).err().expect("another node is refused");
        assert!(error.contains("another node"), "{error}");
    }

    #[test]
    fn a_database_keeps_to_its_chain() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("node.redb");
        let (task, node) = (Address::new_unique(), Address::new_unique());
        let store = Store::open(&path, &task, &node).expect("open");
        store.pin_chain(&[1; 32]).expect("first pin");
        store.pin_chain(&[1; 32]).expect("the same chain");
        drop(store);
        let store = Store::open(&path, &task, &node).expect("reopen");
        let error = store.pin_chain(&[2; 32]).expect_err("another chain is refused");
        assert!(matches!(&error, PinError::OtherChain(message) if message.contains("genesis")), "{error:?}");
    }

    #[test]
    fn old_rounds_are_forgotten_and_the_file_stops_growing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("node.redb");
        let store = Store::open(&path, &Address::new_unique(), &Address::new_unique()).expect("open");
        let result = vec![7u8; 4_096];
        let list: Leaves = (0..64u8).map(|node| ([node; 32], 1_000)).collect();
        let mut sizes = Vec::new();
        for round in 0..200u64 {
            store.put_result(round, &result).expect("put");
            store.publish(round).expect("publish");
            store.put_list(round, &list).expect("put list");
            store.record("SubmitProof", round).expect("record");
            store.record("ClaimReward", round).expect("record");
            store.forget_before(round.saturating_sub(10)).expect("forget");
            sizes.push(std::fs::metadata(&path).expect("size").len());
        }
        // The last call forgot the rounds before 189.
        assert!(store.result(188).expect("read").is_none());
        assert!(store.published_result(189).expect("read").is_some_and(|kept| kept == result));
        assert!(store.leaves(188).expect("read").is_none());
        assert!(store.leaves(189).expect("read").is_some());
        let journal = store.journal().expect("journal");
        assert_eq!(journal.len(), 22, "two entries for each of the last eleven rounds: {journal:?}");
        // Once redb reuses the pages it freed, the file no longer grows.
        assert_eq!(sizes[199], sizes[100], "sizes by round: {sizes:?}");
    }
}
