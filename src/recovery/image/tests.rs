//! A checkpoint body: every byte string decodes or is refused, never a panic.
//! (Round trips of real states are checked through the ledger and the
//! crash model, which build them.)

use proptest::prelude::*;

use super::*;

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Replayed::decode_checkpoint(0, &bytes);
    }

    #[test]
    fn a_count_larger_than_the_body_is_refused_without_allocating(count in any::<u64>()) {
        let mut bytes = count.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0; 16]);
        prop_assume!(count > 0);
        prop_assert!(Replayed::decode_checkpoint(0, &bytes).is_err());
    }
}

#[test]
fn an_empty_state_round_trips() {
    let empty = Replayed::default();
    let body = empty.encode_checkpoint(&TableImages::default());
    let decoded = Replayed::decode_checkpoint(7, &body).unwrap();
    assert_eq!(decoded.base_position(), 7);
    assert!(decoded.accounts().is_empty());
    assert_eq!(decoded.base_images(), &TableImages::default());
    let mut longer = body.clone();
    longer.push(0);
    assert!(Replayed::decode_checkpoint(7, &longer).is_err());
}
