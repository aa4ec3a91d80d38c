//! `IdGenerator`: no two generators produce the same id, however many are
//! made at once, and a second client's payment is never mistaken for the
//! first's. (That a generator cannot be copied is a `compile_fail` doctest on
//! `IdGenerator`.)

use std::collections::HashSet;

use atomic_ledger::{AccountId, AccountOptions, IdGenerator, Ledger, Transfer};

const THREADS: usize = 8;
const GENERATORS_PER_THREAD: usize = 4_000;
const IDS_PER_GENERATOR: usize = 3;

#[test]
fn generators_made_together_on_many_threads_never_share_an_id() {
    // Every thread makes its generators as fast as it can, so many share a
    // millisecond with generators of the other threads.
    let per_thread: Vec<Vec<u128>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let mut generators: Vec<IdGenerator> =
                        (0..GENERATORS_PER_THREAD).map(|_| IdGenerator::new()).collect();
                    let mut ids = Vec::with_capacity(GENERATORS_PER_THREAD * IDS_PER_GENERATOR);
                    for _ in 0..IDS_PER_GENERATOR {
                        ids.extend(generators.iter_mut().map(IdGenerator::next_u128));
                    }
                    ids
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap()).collect()
    });
    let total = THREADS * GENERATORS_PER_THREAD * IDS_PER_GENERATOR;
    let distinct: HashSet<u128> = per_thread.iter().flatten().copied().collect();
    assert_eq!(distinct.len(), total, "{} ids were issued twice", total - distinct.len());
    // The ids of one millisecond and one sequence number differ in the tag
    // alone: count the (millisecond, sequence) pairs that many generators shared.
    let shared_instants = {
        let mut seen = HashSet::new();
        per_thread.iter().flatten().filter(|&&id| !seen.insert((id >> 80, id as u32 & 0xff_ffff))).count()
    };
    assert!(shared_instants > 0, "the generators never met in one millisecond; the test proves nothing");
}

#[test]
fn two_clients_with_their_own_generators_both_get_paid() {
    let ledger = Ledger::new();
    let (customer, shop) = (AccountId(1), AccountId(2));
    ledger.open_account(customer, AccountOptions::default()).unwrap();
    ledger.open_account(shop, AccountOptions::default()).unwrap();
    ledger.credit(customer, 100).unwrap();
    // Two clients make the same payment, each with a generator of its own.
    let (mut first, mut second) = (IdGenerator::new(), IdGenerator::new());
    for ids in [&mut first, &mut second] {
        let payment = Transfer { id: ids.next_transfer_id(), from: customer, to: shop, amount: 10 };
        assert!(!ledger.transfer(payment).unwrap().repeat, "a different payment was answered as a repeat");
    }
    assert_eq!(ledger.balance(shop), Ok(20));
}

#[test]
fn one_generator_is_strictly_increasing() {
    let mut ids = IdGenerator::new();
    let mut last = ids.next_u128();
    for _ in 0..100_000 {
        let next = ids.next_u128();
        assert!(next > last);
        last = next;
    }
}
