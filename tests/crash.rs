//! Crash tests with a real process: a child runs concurrent transfers,
//! linked batches, credits, holds and posts, and debits through a
//! credential with a spending cap, on a durable ledger and reports each
//! acknowledgement on its stdout only after the call returned; the parent
//! kills it with SIGKILL at a random moment, reopens the directory, and
//! checks every acknowledged operation against the recovered ledger. The
//! same directory serves every round, so recovery also runs over the
//! settlements of earlier crashes.
//!
//! `CRASH_ROUNDS` (default 20) and `CRASH_SEED` (default: from the clock,
//! printed) tune it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use atomic_ledger::{
    AccountId, AccountOptions, CredentialId, CredentialSpec, Floor, HoldId, HoldRequest, HoldState, Ledger,
    Scopes, Transfer, TransferError, TransferId,
};

const ACCOUNTS: u128 = 8;
const FUNDING: u64 = 1_000;
const THREADS: u64 = 4;
const CHILD_DIR: &str = "ATOMIC_LEDGER_CRASH_CHILD_DIR";
const CHILD_ROUND: &str = "ATOMIC_LEDGER_CRASH_CHILD_ROUND";
/// The credential the child debits through, for account 2, with a cap far
/// above what 100 rounds spend: its spent total is checked, not its refusals.
const KEY: CredentialId = CredentialId(1);
const KEY_CAP: u64 = 1 << 40;

/// Small segments, so that the child's checkpoints remove some while it
/// runs and a kill can land anywhere in one.
fn open(dir: &Path) -> Ledger {
    Ledger::builder()
        .accounts_max(64)
        .transfer_ids_max(1 << 20)
        .transfer_id_shards(8)
        .journal_segment_bytes_max(64 << 10)
        .open(dir)
        .unwrap()
}

/// A small xorshift generator: the test must not depend on a seed it cannot print.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn account(rng: &mut Rng) -> AccountId {
    AccountId(1 + u128::from(rng.below(ACCOUNTS as u64)))
}

fn random_transfer(rng: &mut Rng, id: u128) -> Transfer {
    let from = account(rng);
    let mut to = account(rng);
    while to == from {
        to = account(rng);
    }
    // Amounts up to a third of an account's funding: some are refused.
    Transfer { id: TransferId(id), from, to, amount: 1 + rng.below(FUNDING / 3) }
}

/// The hold the child places for a drawn transfer: its id, accounts and amount, never expiring.
fn hold_of(transfer: &Transfer) -> HoldRequest {
    let Transfer { id, from, to, amount } = *transfer;
    HoldRequest { id: HoldId(id.0), from, to, amount, expires_at_ms: u64::MAX }
}

fn encode(transfer: &Transfer) -> String {
    format!("{} {} {} {}", transfer.id.0, transfer.from.0, transfer.to.0, transfer.amount)
}

fn decode(fields: &[&str]) -> Transfer {
    let number = |index: usize| fields[index].parse::<u128>().unwrap();
    Transfer {
        id: TransferId(number(0)),
        from: AccountId(number(1)),
        to: AccountId(number(2)),
        amount: fields[3].parse().unwrap(),
    }
}

/// What an answer says, comparable across a restart: `ok`, or the
/// rejection's Debug text (the same fields must come back).
fn outcome(result: &Result<impl Sized, TransferError>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(TransferError::Rejected { reason, .. }) => format!("{reason:?}").replace(' ', ""),
        Err(other) => format!("error:{other:?}").replace(' ', ""),
    }
}

/// The child: runs until killed, writing `ACK ...` after each call returns.
fn child(dir: &Path, round: u64) {
    let ledger = open(dir);
    let fresh = ledger.recovery().is_some_and(|recovery| recovery.entries == 0);
    for id in 1..=ACCOUNTS {
        let floor = if id == 1 { Floor::Overdraft(500) } else { Floor::Zero };
        ledger.open_account(AccountId(id), AccountOptions { floor, ..AccountOptions::default() }).unwrap();
        if fresh {
            ledger.credit(AccountId(id), FUNDING).unwrap();
        }
    }
    let spec = CredentialSpec {
        account: AccountId(2),
        scopes: Scopes::DEBIT,
        amount_max_per_op: None,
        spend_cap: Some(KEY_CAP),
        expires_at_ms: None,
        rate_limit: None,
    };
    ledger.issue_credential(KEY, spec).unwrap();
    println!("READY");
    let sequence = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (ledger, sequence) = (&ledger, &sequence);
            scope.spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (round << 8 | thread));
                let mut holds: Vec<(HoldId, u64)> = Vec::new();
                loop {
                    let count = sequence.fetch_add(1, Ordering::Relaxed);
                    let id = u128::from(round) << 40 | u128::from(count) << 4;
                    let line = match rng.below(13) {
                        _ if thread == 0 && count % 64 == 0 => {
                            let checkpoint = ledger.checkpoint().unwrap().unwrap();
                            format!("K {}", checkpoint.position)
                        }
                        10 => {
                            let transfer = random_transfer(&mut rng, id);
                            let request = hold_of(&transfer);
                            let held = ledger.hold(request);
                            if held.is_ok() {
                                holds.push((request.id, request.amount));
                            }
                            let answer = if held.is_ok() { "ok" } else { "rejected" };
                            format!("H {} {answer}", encode(&transfer))
                        }
                        11 => match holds.pop() {
                            Some((hold, amount)) => {
                                let posted = 1 + rng.below(amount);
                                let result = ledger.post(hold, posted);
                                assert!(result.is_ok(), "{result:?}");
                                format!("P {} {posted}", hold.0)
                            }
                            None => "C".to_owned(),
                        },
                        12 => {
                            let amount = 1 + rng.below(5);
                            match ledger.debit_as(KEY, amount) {
                                Ok(_) => format!("D {amount}"),
                                Err(_) => "C".to_owned(), // refused: changed nothing
                            }
                        }
                        0 => {
                            let legs: Vec<Transfer> = (0..2 + rng.below(2))
                                .map(|leg| random_transfer(&mut rng, id + u128::from(leg)))
                                .collect();
                            let result = ledger.transfer_all(&legs);
                            let answer = match &result {
                                Ok(_) => "ok".to_owned(),
                                Err(error) => match error.failure() {
                                    Some((index, leg_error)) => {
                                        format!("leg{index}:{}", outcome(&Err::<(), _>(*leg_error)))
                                    }
                                    None => format!("error:{error:?}").replace(' ', ""),
                                },
                            };
                            let legs: Vec<String> = legs.iter().map(encode).collect();
                            format!("B {} {} {answer}", legs.len(), legs.join(" "))
                        }
                        1 => {
                            let account = account(&mut rng);
                            let result = ledger.credit(account, 1 + rng.below(20));
                            assert!(result.is_ok(), "{result:?}");
                            "C".to_owned()
                        }
                        _ => {
                            let transfer = random_transfer(&mut rng, id);
                            let result = ledger.transfer(transfer);
                            format!("T {} {}", encode(&transfer), outcome(&result))
                        }
                    };
                    let mut stdout = std::io::stdout().lock();
                    writeln!(stdout, "ACK {line}").unwrap();
                    stdout.flush().unwrap();
                }
            });
        }
    });
}

#[test]
fn crash_child() {
    // Runs only when the parent starts this binary as its child.
    let (Some(dir), Some(round)) = (std::env::var_os(CHILD_DIR), std::env::var_os(CHILD_ROUND)) else {
        return;
    };
    let round = round.to_str().unwrap().parse().unwrap();
    child(Path::new(&dir), round);
}

/// One acknowledged operation, as the parent re-asks it.
enum Acked {
    Transfer(Transfer, String),
    Batch(Vec<Transfer>, String),
    Hold(HoldRequest, bool),
    Posted(HoldId, u64),
    Spent(u64),
    /// A checkpoint covering the positions below this was written.
    Checkpoint(u64),
}

fn parse(line: &str) -> Option<Acked> {
    let fields: Vec<&str> = line.strip_prefix("ACK ")?.split(' ').collect();
    match fields[0] {
        "K" => Some(Acked::Checkpoint(fields[1].parse().ok()?)),
        "T" => Some(Acked::Transfer(decode(&fields[1..5]), fields[5].to_owned())),
        "B" => {
            let legs: usize = fields[1].parse().unwrap();
            let transfers = (0..legs).map(|leg| decode(&fields[2 + leg * 4..6 + leg * 4])).collect();
            Some(Acked::Batch(transfers, fields[2 + legs * 4].to_owned()))
        }
        "H" => Some(Acked::Hold(hold_of(&decode(&fields[1..5])), fields[5] == "ok")),
        "P" => Some(Acked::Posted(HoldId(fields[1].parse().unwrap()), fields[2].parse().unwrap())),
        "D" => Some(Acked::Spent(fields[1].parse().unwrap())),
        _ => None, // a credit: conservation is what the audit checks
    }
}

/// Runs one child until it has acknowledged `acks_before_kill` operations,
/// kills it, and returns every acknowledgement it wrote.
fn run_child(dir: &Path, round: u64, acks_before_kill: u64) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_ROUND, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut acks = 0;
    let mut killed = false;
    for line in stdout.lines() {
        let line = line.unwrap();
        if line.starts_with("ACK ") {
            acks += 1;
            lines.push(line);
        }
        if acks == acks_before_kill && !killed {
            child.kill().unwrap(); // SIGKILL
            killed = true;
        }
    }
    assert!(killed, "the child stopped before it was killed");
    child.wait().unwrap();
    lines
}

#[test]
fn a_killed_process_recovers_every_acknowledged_operation() {
    let rounds: u64 = std::env::var("CRASH_ROUNDS").map_or(20, |rounds| rounds.parse().unwrap());
    let seed = std::env::var("CRASH_SEED").map_or_else(
        |_| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1,
        |seed| seed.parse().unwrap(),
    );
    println!("crash test: {rounds} rounds, CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut history: Vec<(Transfer, String)> = Vec::new();
    let mut acknowledged = 0;
    let (mut cut, mut torn) = (0, 0);
    let mut spent_acknowledged = 0u64;
    let mut checkpoints = 0;
    for round in 1..=rounds {
        let lines = run_child(dir.path(), round, 1 + rng.below(400));
        let ledger = open(dir.path());
        let recovery = ledger.recovery().unwrap();
        cut += recovery.transfers_abandoned + recovery.batches_abandoned + recovery.batches_completed;
        torn += u64::from(recovery.torn_tail.is_some());
        let audit = ledger.audit();
        assert!(audit.is_consistent(), "round {round}: {audit:?}");
        for id in 1..=ACCOUNTS {
            let info = ledger.account_info(AccountId(id)).unwrap();
            assert!(info.balance >= info.floor, "round {round}: {info:?}");
        }
        let mut checked = Vec::new();
        for line in &lines {
            acknowledged += 1;
            match parse(line) {
                Some(Acked::Transfer(transfer, answer)) => {
                    let again = ledger.transfer(transfer);
                    assert!(
                        !matches!(again, Ok(receipt) if !receipt.repeat),
                        "round {round}: {line} applied twice"
                    );
                    assert_eq!(outcome(&again), answer, "round {round}: {line}");
                    checked.push((transfer, answer));
                }
                Some(Acked::Batch(legs, answer)) => {
                    let again = ledger.transfer_all(&legs);
                    let retried = match &again {
                        Ok(receipt) => {
                            assert!(receipt.repeat, "round {round}: {line} applied twice");
                            "ok".to_owned()
                        }
                        Err(error) => {
                            let (index, leg_error) = error.failure().unwrap();
                            assert!(matches!(leg_error, TransferError::Rejected { repeat: true, .. }));
                            format!("leg{index}:{}", outcome(&Err::<(), _>(*leg_error)))
                        }
                    };
                    assert_eq!(retried, answer, "round {round}: {line}");
                }
                Some(Acked::Hold(request, held)) => {
                    let again = ledger.hold(request);
                    match (held, again) {
                        (true, Ok(receipt)) => assert!(receipt.repeat, "round {round}: {line} placed twice"),
                        (false, Err(atomic_ledger::HoldError::Rejected { repeat: true, .. })) => {}
                        (_, again) => panic!("round {round}: {line} answered {again:?} after the restart"),
                    }
                }
                Some(Acked::Posted(hold, amount)) => {
                    let state = ledger.hold_info(hold).map(|info| info.state);
                    assert_eq!(state, Ok(HoldState::Posted { amount }), "round {round}: {line}");
                }
                Some(Acked::Spent(amount)) => spent_acknowledged += amount,
                Some(Acked::Checkpoint(position)) => {
                    checkpoints += 1;
                    let from = recovery.checkpoint.unwrap_or(0);
                    assert!(
                        from >= position,
                        "round {round}: recovery began at {from}, before checkpoint {position}"
                    );
                }
                None => {}
            }
        }
        // A cap never refills by restarting: every acknowledged spend is counted.
        let spent = ledger.credential_info(KEY).unwrap().spent;
        assert!(spent >= spent_acknowledged && spent <= KEY_CAP, "round {round}: spent {spent}");
        // Answers from earlier rounds still stand after later crashes.
        for _ in 0..history.len().min(200) {
            let (transfer, answer) = &history[rng.below(history.len() as u64) as usize];
            assert_eq!(&outcome(&ledger.transfer(*transfer)), answer, "round {round}: {transfer:?} again");
        }
        history.extend(checked);
        drop(ledger);
    }
    println!(
        "crash test: {rounds} rounds, {acknowledged} acknowledged operations checked; \
         recovery settled {cut} cut operations and cut {torn} torn tails; \
         {checkpoints} acknowledged checkpoints"
    );
    assert!(acknowledged >= rounds, "every round acknowledged something");
}
