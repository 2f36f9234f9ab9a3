//! What the runtimes of one process share: the task's chain state as of
//! the current slot, the lists computed from it, and how results are kept
//! and fetched (`Peers`).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    sync::Arc,
};

use solana_account::Account as SolanaAccount;

use gradual_interface::{
    merkle::{tree_of, MerkleTree},
    pda::find_distribution_address,
    selection::committee_seed,
    state::{Account, Audit, Distribution, Node, Task as TaskAccount, SUBMISSION_EXCLUDED},
    Address, ID,
};

use crate::{
    approved::ApprovedList,
    chain::{Chain, Read, TASK_FIELD},
    tasks::{check_leaves_against, eligible_set, DistributionInputs, Eligible, Leaves, Task},
};

/// A round's audits and the seeds of their committees.
pub(crate) type CommitteeSeeds = Arc<Vec<(Address, [u8; 32])>>;

/// The account at `address` as a `T`; `Ok(None)` when the chain has none, or not a `T`.
pub(crate) fn read<T: gradual_interface::state::Account>(
    chain: &dyn Chain,
    address: &Address,
) -> Read<Option<T>> {
    Ok(chain.account(address)?.and_then(|account| T::read(&account.data)))
}

/// How a node keeps and serves its own results and fetches other nodes':
/// in process for `simulate`, over HTTP with signed responses for `node run`.
pub trait Peers {
    /// Keeps `node`'s result of `round` and serves it to auditors.
    fn serve(&mut self, node: &Address, round: u64, result: Vec<u8>);
    /// Lets `node`'s result of `round` be fetched from now on: not before its
    /// commitment deadline, or a copier could commit to it in time.
    fn publish(&mut self, node: &Address, round: u64);
    /// `node`'s own stored result of `round`.
    fn own(&self, node: &Address, round: u64) -> Option<Vec<u8>>;
    /// Fetches `target`'s result of `round` from wherever its node account
    /// says it serves it; `None` if it cannot be had (yet).
    fn fetch(&mut self, target: &Address, account: &Node, round: u64) -> Option<Vec<u8>>;
    /// Forgets `node`'s results and lists of rounds before `oldest`.
    fn forget_before(&mut self, _node: &Address, _oldest: u64) {}
    /// Keeps a list `node` proposed or verified for `round`, and serves it.
    fn serve_list(&mut self, _node: &Address, _round: u64, _leaves: &Arc<Leaves>) {}
    /// The list kept for `round`, if any: after its nodes' accounts change
    /// (a ring overwritten, a node gone), it can no longer be recomputed.
    fn kept_list(&self, _node: &Address, _round: u64) -> Option<Leaves> {
        None
    }
    /// The list `distribution`'s proposer serves, signed by its operator; the
    /// caller checks it against the root.
    fn proposer_list(&mut self, _distribution: &Distribution) -> Option<Leaves> {
        None
    }
}

/// Results by (node, round), and whether each is published.
type Results = HashMap<(Address, u64), (Vec<u8>, bool)>;

/// Results held in memory, shared by every runtime of one process (and, for
/// `simulate --slot-ms`, by the threads that check them).
#[derive(Clone, Default)]
pub struct InProcessPeers {
    results: std::sync::Arc<std::sync::Mutex<Results>>,
    /// Lists kept, by (node, round); nodes that keep the same list share one copy.
    lists: BTreeMap<(Address, u64), Arc<Leaves>>,
    /// Rounds before this are forgotten for every node at once.
    forgotten_before: u64,
}

impl InProcessPeers {
    fn get(&self, node: &Address, round: u64) -> Option<(Vec<u8>, bool)> {
        self.results.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&(*node, round)).cloned()
    }

    /// `node`'s result of `round`, if it is published.
    pub fn published(&self, node: &Address, round: u64) -> Option<Vec<u8>> {
        self.get(node, round).filter(|(_, published)| *published).map(|(result, _)| result)
    }
}

impl Peers for InProcessPeers {
    fn serve(&mut self, node: &Address, round: u64, result: Vec<u8>) {
        self.results
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert((*node, round), (result, false));
    }

    fn publish(&mut self, node: &Address, round: u64) {
        if let Some(entry) =
            self.results.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get_mut(&(*node, round))
        {
            entry.1 = true;
        }
    }

    fn own(&self, node: &Address, round: u64) -> Option<Vec<u8>> {
        self.get(node, round).map(|(result, _)| result)
    }

    fn fetch(&mut self, target: &Address, _account: &Node, round: u64) -> Option<Vec<u8>> {
        self.published(target, round)
    }

    fn serve_list(&mut self, node: &Address, round: u64, leaves: &Arc<Leaves>) {
        self.lists.insert((*node, round), Arc::clone(leaves));
    }

    fn forget_before(&mut self, _node: &Address, oldest: u64) {
        // Every runtime forgets the same rounds in the same slot: the first does it for all.
        if oldest <= self.forgotten_before {
            return;
        }
        self.forgotten_before = oldest;
        self.results
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|(_, round), _| *round >= oldest);
        self.lists.retain(|(_, round), _| *round >= oldest);
    }

    fn kept_list(&self, node: &Address, round: u64) -> Option<Leaves> {
        self.lists.get(&(*node, round)).map(|kept| kept.as_ref().clone())
    }

    fn proposer_list(&mut self, distribution: &Distribution) -> Option<Leaves> {
        self.kept_list(&Address::new_from_array(distribution.proposer), distribution.round)
    }
}

/// A round's list by the task's rule and its Merkle tree, shared by every
/// runtime that computes or keeps it: copying it per node cost O(nodes^2).
pub struct RuleList {
    pub leaves: Arc<Leaves>,
    pub tree: MerkleTree,
    /// The leaves' amounts added up.
    pub total: u64,
}

/// Open audits past their window, as of one slot.
pub(crate) type ClosedAudits = Arc<Vec<(Address, Audit)>>;

/// A round's distribution inputs and its eligible nodes, gathered once.
type Gathered = Arc<(DistributionInputs, HashSet<[u8; 32]>)>;

/// A round's list, or why the rule gave none (it failed or broke the
/// program's limits), as of a version of its inputs.
pub(crate) struct CachedList {
    inputs: (u64, u64),
    list: Result<Arc<RuleList>, String>,
}

/// Which task computes a list: runtimes that list by the same one share it.
fn task_identity(task_impl: &dyn Task) -> usize {
    std::ptr::from_ref(task_impl).cast::<()>() as usize
}

/// A transaction that landed, for the caller's journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landed {
    pub kind: &'static str,
    /// The round the instruction concerns.
    pub round: u64,
    pub node: Address,
    /// Lamports the sender expected it to move into or out of the program.
    pub lamports: u64,
}

/// A transaction a runtime sent, as an [`Observer`] sees it.
pub struct SentTx {
    pub kind: &'static str,
    /// Compute units if it landed; `None` if the chain refused it.
    pub units: Option<u64>,
    /// Lamports the sender expected it to move into the program, and out of it.
    pub deposit: u64,
    pub payout: u64,
}

/// What `simulate` watches the runtimes do, for its report and its
/// conservation check. `node run` watches nothing ([`NoObserver`]).
pub trait Observer: Send {
    fn sent(&mut self, _sent: &SentTx) {}
    /// A batch of transactions took `took` to send, wall time.
    fn sending_took(&mut self, _took: std::time::Duration) {}
    fn raised(&mut self, _target: &Address) {}
    /// `node` computed `root` for `round`'s list, proposing or judging one.
    fn computed_root(&mut self, _round: u64, _node: &Address, _root: [u8; 32]) {}
}

pub struct NoObserver;

impl Observer for NoObserver {}

/// Everything the runtimes of one process share: the task, the chain state
/// of this slot, what they serve.
pub struct World {
    pub task: Address,
    pub peers: Box<dyn Peers>,
    /// Sees every transaction sent (`simulate`'s tallies).
    pub observer: Box<dyn Observer>,
    /// Rounds after which nodes stop working (they keep settling).
    pub work_rounds: u64,
    /// Peers each node checks per round, besides every proof already under audit.
    pub audit_sample: usize,
    /// The task's node accounts as of the current slot (see [`World::refresh`]).
    /// Hashed, not ordered: every runtime looks nodes up every tick, and a
    /// lookup must not grow with the task. The default hasher is keyed at
    /// random, so addresses ground to collide gain nothing.
    pub node_cache: HashMap<Address, Arc<Node>>,
    /// The task's open audits as of the current slot.
    pub open_audits: BTreeMap<Address, Audit>,
    /// The task account as of the current slot.
    pub task_state: Option<TaskAccount>,
    /// The task's distribution accounts as of the current slot, by round.
    pub distributions: BTreeMap<u64, (Address, Distribution)>,
    /// The open audits past their window, as of a slot (`closed_audits`).
    closed_audits: Option<(u64, ClosedAudits)>,
    /// Nodes in `node_cache` that asked to unstake: they may close.
    exiting: BTreeSet<Address>,
    /// The keys of `node_cache`, in order: for sampling, and wherever
    /// nodes are visited in turn.
    node_list: Vec<Address>,
    /// Refreshes so far, and the node accounts changed since the last
    /// (`None`: it read everything), so that a runtime can skip peers
    /// nothing happened to.
    refreshes: u64,
    changed_nodes: Option<HashSet<Address>>,
    /// See [`World::committee_seeds`]: by round and slot hash.
    committee_seeds: HashMap<(u64, [u8; 32]), CommitteeSeeds>,
    /// A full read failed: the next refresh reads everything again.
    needs_full_read: bool,
    /// Transactions landed since the caller last drained this.
    pub landed: Vec<Landed>,
    /// Each round's list by the default rule, as of the slot it was computed in.
    /// Keyed by round, task and the bounty it may pay (the round's, or the
    /// pool if less: proposals, votes and claims see different pools).
    pub(crate) list_cache: BTreeMap<(u64, usize, u64), CachedList>,
    /// For each round, how often what its list is computed from (a node's
    /// proof of it, or its stake for it) changed; with `generation`, bumped
    /// by every full read, it says whether a cached list still holds.
    list_inputs: HashMap<u64, u64>,
    /// Each round's inputs by bounty, as of a version of `list_inputs`.
    inputs_cache: BTreeMap<(u64, u64), ((u64, u64), Gathered)>,
    generation: u64,
    /// Lists that build an approved root, by that root.
    pub(crate) approved_lists: HashMap<[u8; 32], ApprovedList>,
    /// How long a slot lasts, as the driver measures it: turns the slot
    /// deadlines of checks into wall-clock ones.
    pub slot_duration: std::time::Duration,
}

impl World {
    pub fn new(task: Address, peers: Box<dyn Peers>, work_rounds: u64, audit_sample: usize) -> Self {
        Self {
            task,
            peers,
            observer: Box::new(NoObserver),
            work_rounds,
            audit_sample,
            node_cache: HashMap::new(),
            refreshes: 0,
            changed_nodes: None,
            committee_seeds: HashMap::new(),
            needs_full_read: false,
            open_audits: BTreeMap::new(),
            task_state: None,
            distributions: BTreeMap::new(),
            node_list: Vec::new(),
            exiting: BTreeSet::new(),
            closed_audits: None,
            landed: Vec::new(),
            list_cache: BTreeMap::new(),
            list_inputs: HashMap::new(),
            inputs_cache: BTreeMap::new(),
            generation: 0,
            approved_lists: HashMap::new(),
            slot_duration: std::time::Duration::from_millis(400),
        }
    }

    /// Brings the task and its node, audit and distribution accounts up to
    /// this slot, once; runtimes read the cache. Where the chain says which
    /// accounts were written, only those are read again: a full read costs
    /// O(nodes) every slot.
    pub fn refresh(&mut self, chain: &mut dyn Chain) -> Read<()> {
        let written = chain.take_written();
        self.refreshes = self.refreshes.wrapping_add(1);
        match written {
            // After a failed full read, the next one is full too: the changes
            // it was to catch are in no notification.
            Some(written) if self.task_state.is_some() && !self.needs_full_read => {
                self.changed_nodes = Some(HashSet::new());
                let members = self.node_cache.len();
                for (address, account) in written {
                    self.reload(&address, account);
                }
                let closed = self.forget_closed(chain);
                if self.node_cache.len() != members {
                    self.node_list = self.sorted_nodes();
                }
                closed
            }
            _ => {
                self.needs_full_read = true;
                self.read_all(chain)?;
                self.needs_full_read = false;
                Ok(())
            }
        }
    }

    /// Reads again the accounts that may have been closed since: audits
    /// past their window, lists past their claim deadline, nodes past their
    /// exit. Notifications miss closures; these are few whatever the
    /// number of nodes.
    fn forget_closed(&mut self, chain: &dyn Chain) -> Read<()> {
        let slot = chain.slot();
        let round = self.task_state.and_then(|task| task.timeline().round_at(slot)).unwrap_or(0);
        let mut closable: Vec<Address> = self
            .open_audits
            .iter()
            .filter(|(_, audit)| slot >= audit.window_end)
            .map(|(address, _)| *address)
            .collect();
        closable.extend(
            self.distributions
                .values()
                .filter(|(_, list)| slot >= list.claim_deadline)
                .map(|(address, _)| *address),
        );
        closable.extend(
            self.exiting
                .iter()
                .filter(|address| self.node_cache.get(address).is_some_and(|node| round >= node.exit_round)),
        );
        if closable.is_empty() {
            return Ok(());
        }
        // Not read is not closed: they stay as they were, and are asked again next time.
        let now = chain.accounts(&closable)?;
        for (address, account) in closable.into_iter().zip(now) {
            self.reload(&address, account);
        }
        Ok(())
    }

    fn read_all(&mut self, chain: &dyn Chain) -> Read<()> {
        let accounts = chain.task_accounts(&self.task)?;
        let task_state = read::<TaskAccount>(chain, &self.task)?;
        self.changed_nodes = None;
        self.generation = self.generation.wrapping_add(1);
        self.node_cache.clear();
        self.exiting.clear();
        self.open_audits.clear();
        self.distributions.clear();
        self.task_state = task_state;
        for (address, account) in accounts {
            if let Some(node) = Node::read(&account.data) {
                if node.is_exiting() {
                    self.exiting.insert(address);
                }
                self.node_cache.insert(address, Arc::new(node));
            } else if let Some(audit) = Audit::read(&account.data) {
                self.open_audits.insert(address, audit);
            } else if let Some(distribution) = Distribution::read(&account.data) {
                self.distributions.insert(distribution.round, (address, distribution));
            }
        }
        self.node_list = self.sorted_nodes();
        Ok(())
    }

    fn sorted_nodes(&self) -> Vec<Address> {
        let mut nodes: Vec<Address> = self.node_cache.keys().copied().collect();
        nodes.sort_unstable();
        nodes
    }

    /// The task's nodes, in address order.
    pub fn node_list(&self) -> &[Address] {
        &self.node_list
    }

    /// Takes one account as it is now: the task, or one of its node, audit
    /// or distribution accounts (created, changed or closed).
    fn reload(&mut self, address: &Address, account: Option<SolanaAccount>) {
        let account = account.filter(|account| account.owner == ID && account.lamports > 0);
        if *address == self.task {
            self.task_state = account.and_then(|account| TaskAccount::read(&account.data));
            return;
        }
        let account = account.filter(|account| account.data.get(TASK_FIELD) == Some(self.task.as_ref()));
        let data = account.as_ref().map(|account| account.data.as_slice()).unwrap_or_default();
        if let Some(node) = Node::read(data) {
            self.put_node(*address, node);
        } else if let Some(audit) = Audit::read(data) {
            self.open_audits.insert(*address, audit);
        } else if let Some(distribution) = Distribution::read(data) {
            self.distributions.insert(distribution.round, (*address, distribution));
        } else {
            // Closed, or never one of the task's: forget it wherever it was.
            self.exiting.remove(address);
            if let Some(gone) = self.node_cache.remove(address) {
                self.note_list_inputs(Some(&*gone), None);
                if let Some(changed) = &mut self.changed_nodes {
                    changed.insert(*address);
                }
            }
            self.open_audits.remove(address);
            self.distributions.retain(|_, (kept, _)| kept != address);
        }
    }

    /// Rereads what a transaction about `round`'s list may have changed, so
    /// that later runtimes in this slot see it.
    /// What could not be read stays as it was.
    pub(crate) fn reload_distribution(&mut self, chain: &dyn Chain, round: u64, node: &Address) -> Read<()> {
        let address = self
            .distributions
            .get(&round)
            .map(|(address, _)| *address)
            .unwrap_or_else(|| find_distribution_address(&self.task, round).0);
        self.reread(chain, &[address, *node, self.task])
    }

    /// Reads `addresses` again, so that later runtimes in this slot see what
    /// a transaction changed. What could not be read stays as it was.
    pub(crate) fn reread(&mut self, chain: &dyn Chain, addresses: &[Address]) -> Read<()> {
        let now = chain.accounts(addresses)?;
        let members = self.node_cache.len();
        for (address, account) in addresses.iter().zip(now) {
            self.reload(address, account);
        }
        if self.node_cache.len() != members {
            self.node_list = self.sorted_nodes();
        }
        Ok(())
    }

    /// The open audits whose window has closed by `slot`, found once per
    /// slot for every runtime: each runtime scanning every open audit every
    /// slot cost O(nodes × audits), and audits grow with the nodes.
    pub(crate) fn closed_audits(&mut self, slot: u64) -> ClosedAudits {
        if let Some((found, closed)) = &self.closed_audits {
            if *found == slot {
                return Arc::clone(closed);
            }
        }
        let closed: Vec<(Address, Audit)> = self
            .open_audits
            .iter()
            .filter(|(_, audit)| slot >= audit.window_end)
            .map(|(address, audit)| (*address, *audit))
            .collect();
        let closed = Arc::new(closed);
        self.closed_audits = Some((slot, Arc::clone(&closed)));
        closed
    }

    /// Forgets the lists of rounds before `oldest`.
    pub(crate) fn forget_lists_before(&mut self, oldest: u64) {
        self.list_cache.retain(|(listed, _, _), _| *listed >= oldest);
        self.list_inputs.retain(|listed, _| *listed >= oldest);
        self.inputs_cache.retain(|(listed, _), _| *listed >= oldest);
        self.committee_seeds.retain(|(audited, _), _| *audited >= oldest);
    }

    /// The seeds of `round`'s audit committees drawn from `slot_hash`, by
    /// audit: the same for every runtime, so hashed once.
    pub(crate) fn committee_seeds(&mut self, round: u64, slot_hash: &[u8; 32]) -> CommitteeSeeds {
        let key = (round, *slot_hash);
        if let Some(seeds) = self.committee_seeds.get(&key) {
            return Arc::clone(seeds);
        }
        let seeds: Vec<(Address, [u8; 32])> = self
            .open_audits
            .iter()
            .filter(|(_, audit)| audit.round == round)
            .map(|(address, audit)| (*address, committee_seed(slot_hash, &audit.target, audit.round)))
            .collect();
        let seeds = Arc::new(seeds);
        self.committee_seeds.insert(key, Arc::clone(&seeds));
        seeds
    }

    /// Keeps a node account as read now, noting the rounds whose lists it changes.
    pub(crate) fn put_node(&mut self, address: Address, node: Node) {
        if node.is_exiting() {
            self.exiting.insert(address);
        } else {
            self.exiting.remove(&address);
        }
        let before = self.node_cache.insert(address, Arc::new(node));
        self.note_list_inputs(before.as_deref(), Some(&node));
        if let Some(changed) = &mut self.changed_nodes {
            changed.insert(address);
        }
    }

    /// The number of refreshes so far: see [`World::unchanged_since`].
    pub fn refreshes(&self) -> u64 {
        self.refreshes
    }

    /// The node accounts changed or closed by the last refresh; `None` when
    /// it read everything.
    pub fn changed_nodes(&self) -> Option<&HashSet<Address>> {
        self.changed_nodes.as_ref()
    }

    /// Whether `node`'s account is known not to have changed since the
    /// refresh numbered `refresh`.
    pub fn unchanged_since(&self, node: &Address, refresh: u64) -> bool {
        refresh.wrapping_add(1) == self.refreshes
            && self.changed_nodes.as_ref().is_some_and(|changed| !changed.contains(node))
    }

    fn note_list_inputs(&mut self, before: Option<&Node>, after: Option<&Node>) {
        // What `distribution_inputs` takes from a node: an excluded proof's
        // stake is not read, so slashing a cheater leaves its lists alone.
        let input = |node: Option<&Node>, round: u64| {
            let proof = node.and_then(|node| node.proof(round)).copied();
            let counted = proof.filter(|proof| proof.flags & SUBMISSION_EXCLUDED == 0).is_some();
            let stake = node.filter(|_| counted).map_or(0, |node| node.stake_for_round(round));
            (proof, stake)
        };
        let rounds = [before, after].into_iter().flatten().flat_map(|node| node.submissions.iter());
        let changed: BTreeSet<u64> = rounds
            .map(|submission| submission.round)
            .filter(|round| input(before, *round) != input(after, *round))
            .collect();
        for round in changed {
            let version = self.list_inputs.entry(round).or_default();
            *version = version.wrapping_add(1);
        }
    }

    /// What the distribution rule of `round` may use, from this slot's node accounts.
    fn distribution_inputs(&self, round: u64, bounty: u64) -> DistributionInputs {
        let mut inputs = DistributionInputs { round, bounty, eligible: Vec::new(), excluded: Vec::new() };
        let nodes =
            self.node_list.iter().filter_map(|address| Some((address, self.node_cache.get(address)?)));
        for (address, node) in nodes {
            let Some(proof) = node.proof(round) else { continue };
            if proof.flags & SUBMISSION_EXCLUDED != 0 {
                inputs.excluded.push(address.to_bytes());
            } else {
                inputs.eligible.push(Eligible {
                    node: address.to_bytes(),
                    stake: node.stake_for_round(round),
                    digest: proof.digest,
                    locator: proof.locator().to_vec(),
                });
            }
        }
        inputs
    }

    /// `distribution_inputs` and its eligible nodes, gathered once for
    /// every rule that lists the round (a bad proposer's wrapped rule too).
    fn inputs_for(&mut self, round: u64, bounty: u64, version: (u64, u64)) -> Gathered {
        if let Some((gathered, inputs)) = self.inputs_cache.get(&(round, bounty)) {
            if *gathered == version {
                return Arc::clone(inputs);
            }
        }
        let inputs = self.distribution_inputs(round, bounty);
        let eligible = eligible_set(&inputs);
        let inputs = Arc::new((inputs, eligible));
        self.inputs_cache.insert((round, bounty), (version, Arc::clone(&inputs)));
        inputs
    }

    /// The list of `round` by `task_impl`'s rule and its Merkle tree,
    /// computed once per slot and shared by the runtimes running the same
    /// task. `pool` is the bounty pool the list may draw on: the current one
    /// for a proposal, the one before it for votes, the list's total for
    /// claims. A list beyond the program's limits is refused here.
    pub(crate) fn list(
        &mut self,
        task_impl: &dyn Task,
        task: &TaskAccount,
        (round, pool): (u64, u64),
    ) -> Result<Arc<RuleList>, String> {
        // The pool moves with every proposal and claim; the list depends on
        // it only when it is below the round's bounty.
        let bounty = task.params_for(round).map_or(0, |params| params.bounty_per_round).min(pool);
        let key = (round, task_identity(task_impl), bounty);
        let version = (self.generation, self.list_inputs.get(&round).copied().unwrap_or(0));
        let fresh = self.list_cache.get(&key).is_some_and(|cached| cached.inputs == version);
        if !fresh {
            let inputs = self.inputs_for(round, bounty, version);
            let (inputs, eligible) = inputs.as_ref();
            let list = task_impl.distribution(inputs).and_then(|leaves| {
                check_leaves_against(inputs, eligible, &leaves)?;
                let tree = tree_of(&leaves);
                let total = leaves.iter().map(|(_, amount)| *amount).fold(0u64, u64::saturating_add);
                Ok(Arc::new(RuleList { leaves: Arc::new(leaves), tree, total }))
            });
            self.list_cache.insert(key, CachedList { inputs: version, list });
        }
        self.list_cache[&key].list.clone()
    }

    /// Which peers `node` checks in `round`: `audit_sample` of them, drawn
    /// from a hash of the node and the round, so every node checks a
    /// different, reproducible sample.
    pub(crate) fn sample(&self, node: &Address, round: u64) -> Vec<Address> {
        let nodes = &self.node_list;
        if self.audit_sample >= nodes.len() {
            return nodes.clone();
        }
        let count = nodes.len() as u64;
        (0..self.audit_sample as u64)
            .map(|draw| {
                let hash =
                    solana_sha256_hasher::hashv(&[node.as_ref(), &round.to_le_bytes(), &draw.to_le_bytes()]);
                let mut first = [0u8; 8];
                first.copy_from_slice(&hash.to_bytes()[..8]);
                let index = u64::from_le_bytes(first).checked_rem(count).unwrap_or(0);
                nodes[index as usize]
            })
            .collect()
    }
}
