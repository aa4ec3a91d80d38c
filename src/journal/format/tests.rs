//! The segment format: round trips, every truncation, every flipped byte,
//! and arbitrary bytes.

use proptest::prelude::*;

use super::*;

const FILE: &str = "segment-0000000000000000100.log";

/// A segment whose first position is 100, with a record per payload (kind =
/// the record's index), and the offset where each record starts.
fn segment(payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = encode_header(100).to_vec();
    let mut starts = Vec::new();
    for (index, payload) in payloads.iter().enumerate() {
        starts.push(bytes.len());
        encode_record(100 + index as u64, index as u8, payload, &mut bytes);
    }
    (bytes, starts)
}

fn payloads() -> Vec<Vec<u8>> {
    vec![vec![1, 2, 3], vec![], vec![0; 40], vec![0xff; 7], (0..=255).collect()]
}

fn positions(segment: &Segment) -> Vec<u64> {
    segment.records.iter().map(|record| record.position).collect()
}

#[test]
fn records_round_trip_with_their_positions_kinds_and_payloads() {
    let payloads = payloads();
    let (bytes, _) = segment(&payloads);
    for is_last in [false, true] {
        let read = read_segment(FILE, &bytes, is_last).unwrap();
        assert_eq!((read.first_position, read.next_position(), read.torn), (100, 105, None));
        for (index, record) in read.records.iter().enumerate() {
            assert_eq!((record.position, record.kind), (100 + index as u64, index as u8));
            assert_eq!(&bytes[record.payload.clone()], payloads[index].as_slice());
        }
    }
    let empty = encode_header(7);
    assert_eq!(read_segment(FILE, &empty, true).unwrap().next_position(), 7);
}

#[test]
fn every_truncation_of_the_last_segment_is_a_prefix_and_a_torn_tail() {
    let (bytes, starts) = segment(&payloads());
    for cut in HEADER_LEN..bytes.len() {
        let read =
            read_segment(FILE, &bytes[..cut], true).unwrap_or_else(|error| panic!("cut {cut}: {error}"));
        let whole = starts.iter().skip(1).chain([&bytes.len()]).filter(|&&end| end <= cut).count();
        assert_eq!(read.records.len(), whole, "cut {cut}");
        let boundary = starts.contains(&cut);
        assert_eq!(read.torn.is_some(), !boundary, "cut {cut}");
        if let Some(torn) = read.torn {
            assert_eq!((torn.offset as usize, torn.offset + torn.bytes), (starts[whole], cut as u64));
        }
        // Any segment but the last must end on a record boundary.
        assert_eq!(read_segment(FILE, &bytes[..cut], false).is_ok(), boundary, "cut {cut}");
    }
}

#[test]
fn zeros_after_the_last_record_are_a_torn_tail() {
    let (mut bytes, _) = segment(&payloads());
    let end = bytes.len();
    bytes.resize(end + 4096, 0);
    let read = read_segment(FILE, &bytes, true).unwrap();
    assert_eq!((read.records.len(), read.torn), (5, Some(TornTail { offset: end as u64, bytes: 4096 })));
    assert!(matches!(read_segment(FILE, &bytes, false), Err(FormatError::Corrupt { .. })));
}

#[test]
fn a_flipped_byte_before_the_last_record_is_refused_never_dropped() {
    let (bytes, starts) = segment(&payloads());
    let last = *starts.last().unwrap();
    for at in HEADER_LEN..last {
        for bit in [0x01u8, 0x80] {
            let mut flipped = bytes.clone();
            flipped[at] ^= bit;
            for is_last in [false, true] {
                match read_segment(FILE, &flipped, is_last) {
                    Err(FormatError::Corrupt { file, offset, .. }) => {
                        assert_eq!(file, FILE);
                        assert!(offset as usize <= at, "offset {offset} past the flipped byte {at}");
                    }
                    other => panic!("byte {at} flipped ({bit:#x}), last {is_last}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn a_flipped_byte_in_the_final_record_body_reads_as_torn_in_the_last_segment_only() {
    // Bit rot in exactly the final record's body is indistinguishable from a
    // write that did not finish, so the last segment reads it as torn. A
    // frame that does not verify is refused even there: its length cannot be
    // trusted, so nothing says the body after it is not acknowledged data.
    let (bytes, starts) = segment(&payloads());
    let last = *starts.last().unwrap();
    for at in last..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x10;
        let read = read_segment(FILE, &flipped, true);
        if at < last + FRAME_LEN {
            assert!(
                matches!(read, Err(FormatError::Corrupt { offset, .. }) if offset as usize == last),
                "byte {at}"
            );
        } else {
            let read = read.unwrap_or_else(|error| panic!("byte {at}: {error}"));
            assert_eq!(
                (read.records.len(), read.torn.map(|torn| torn.offset as usize)),
                (4, Some(last)),
                "byte {at}"
            );
        }
        assert!(read_segment(FILE, &flipped, false).is_err());
    }
}

#[test]
fn headers_that_do_not_verify_name_the_file() {
    let (bytes, _) = segment(&payloads());
    let bad_header = FormatError::BadHeader { file: FILE.to_owned() };
    assert_eq!(read_segment(FILE, &bytes[..HEADER_LEN - 1], true), Err(bad_header.clone()));
    for at in [0, 9, 16, 25] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x04;
        assert_eq!(read_segment(FILE, &flipped, true), Err(bad_header.clone()), "byte {at}");
    }
    // Another version, with a header that verifies.
    let mut other = bytes.clone();
    other[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let crc = crc32c::crc32c(&other[..24]);
    other[24..28].copy_from_slice(&crc.to_le_bytes());
    let version =
        FormatError::Version { file: FILE.to_owned(), found: FORMAT_VERSION + 1, expected: FORMAT_VERSION };
    assert_eq!(read_segment(FILE, &other, true), Err(version));
    assert!(bad_header.to_string().contains(FILE));
}

#[test]
fn a_gap_in_positions_is_refused() {
    let mut bytes = encode_header(100).to_vec();
    encode_record(100, 1, b"a", &mut bytes);
    let gap = bytes.len();
    encode_record(102, 1, b"b", &mut bytes);
    let refused = read_segment(FILE, &bytes, true);
    assert!(
        matches!(refused, Err(FormatError::Corrupt { offset, reason: "position out of sequence", .. }) if offset as usize == gap)
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), is_last: bool) {
        let _ = read_segment(FILE, &bytes, is_last);
        // And behind a valid header, where the records are read.
        let mut behind = encode_header(1).to_vec();
        behind.extend_from_slice(&bytes);
        if let Ok(read) = read_segment(FILE, &behind, is_last) {
            prop_assert!(read.records.iter().all(|record| record.payload.end <= behind.len()));
        }
    }

    #[test]
    fn mutated_segments_never_panic_and_never_reorder(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 0..8),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        is_last: bool,
    ) {
        let (mut bytes, _) = segment(&payloads);
        for (index, value) in edits {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        if let Ok(read) = read_segment(FILE, &bytes, is_last) {
            let expected: Vec<u64> = (0..read.records.len() as u64).map(|index| read.first_position + index).collect();
            prop_assert_eq!(positions(&read), expected);
        }
    }
}
