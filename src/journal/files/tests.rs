//! The journal directory: the lock, segments written and read back, torn
//! tails cut, missing and corrupt segments refused.

use super::super::format::encode_record;
use super::*;

fn records(first: u64, count: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for position in first..first + count {
        encode_record(position, 1, &position.to_le_bytes(), &mut bytes);
    }
    bytes
}

/// A journal with segments [1, 4) and [4, 6).
fn two_segments(dir: &Path) -> JournalDir {
    let journal = JournalDir::open(dir).unwrap();
    let mut first = journal.create_segment(1).unwrap();
    first.append(&records(1, 3)).unwrap();
    first.sync().unwrap();
    let mut second = journal.create_segment(4).unwrap();
    second.append(&records(4, 2)).unwrap();
    second.sync().unwrap();
    journal
}

fn positions(read_back: &ReadBack) -> Vec<u64> {
    read_back
        .segments
        .iter()
        .flat_map(|read| read.segment.records.iter().map(|record| record.position))
        .collect()
}

#[test]
fn a_second_opener_is_refused_while_the_first_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let first = JournalDir::open(dir.path()).unwrap();
    let second = JournalDir::open(dir.path());
    assert!(matches!(second, Err(JournalError::Locked { .. })), "{second:?}");
    assert!(second.unwrap_err().to_string().contains("has this journal open"));
    drop(first);
    assert!(JournalDir::open(dir.path()).is_ok(), "the lock goes with the journal");
}

#[test]
fn segments_are_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    drop(two_segments(dir.path()));
    let read_back = JournalDir::open(dir.path()).unwrap().read_back().unwrap();
    assert_eq!(positions(&read_back), [1, 2, 3, 4, 5]);
    assert_eq!(read_back.segments[1].name, segment_name(4));
    let fifth = &read_back.segments[1];
    let payload = &fifth.bytes[fifth.segment.records[1].payload.clone()];
    assert_eq!(payload, 5u64.to_le_bytes(), "each record's payload is where it says");
    assert!(read_back.truncated.is_none());
}

#[test]
fn the_newest_segments_torn_tail_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    drop(two_segments(dir.path()));
    let newest = dir.path().join(segment_name(4));
    let whole = std::fs::metadata(&newest).unwrap().len();
    let mut torn = records(6, 1);
    torn.truncate(torn.len() - 3); // a record cut short
    std::fs::OpenOptions::new().append(true).open(&newest).unwrap().write_all(&torn).unwrap();
    let read_back = JournalDir::open(dir.path()).unwrap().read_back().unwrap();
    assert_eq!(positions(&read_back), [1, 2, 3, 4, 5]);
    let expected = TornTail { offset: whole, bytes: torn.len() as u64 };
    assert_eq!(read_back.truncated, Some((segment_name(4), expected)));
    assert_eq!(std::fs::metadata(&newest).unwrap().len(), whole, "the tail was cut from the file");
    // Reopened again, nothing is left to cut.
    assert!(JournalDir::open(dir.path()).unwrap().read_back().unwrap().truncated.is_none());
}

#[test]
fn a_missing_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let journal = two_segments(dir.path());
    let mut third = journal.create_segment(6).unwrap();
    third.append(&records(6, 1)).unwrap();
    third.sync().unwrap();
    drop(journal);
    std::fs::remove_file(dir.path().join(segment_name(4))).unwrap();
    let refused = JournalDir::open(dir.path()).unwrap().read_back();
    assert!(
        matches!(refused, Err(JournalError::MissingSegment { expected: 4, found: 6, .. })),
        "{refused:?}"
    );
}

#[test]
fn corruption_in_an_older_segment_is_refused_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    drop(two_segments(dir.path()));
    let older = dir.path().join(segment_name(1));
    let mut bytes = std::fs::read(&older).unwrap();
    let at = bytes.len() - 2; // inside the last record of a segment that is not the newest
    bytes[at] ^= 0x20;
    std::fs::write(&older, &bytes).unwrap();
    let refused = JournalDir::open(dir.path()).unwrap().read_back();
    let Err(JournalError::Format(FormatError::Corrupt { file, offset, .. })) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(file, segment_name(1));
    assert!(offset < at as u64);
    assert_eq!(std::fs::read(&older).unwrap(), bytes, "a refused journal is left as it was");
}

#[test]
fn segment_names_sort_as_positions_and_other_files_are_ignored() {
    assert_eq!(parse_segment_name(&segment_name(42)), Some(42));
    assert_eq!(parse_segment_name(&segment_name(u64::MAX)), Some(u64::MAX));
    for other in
        ["LOCK", "segment-1.log", "segment-0000000000000000000x.log", "checkpoint-00000000000000000001.bin"]
    {
        assert_eq!(parse_segment_name(other), None, "{other}");
    }
    assert!(segment_name(9) < segment_name(10));
}

#[test]
fn a_newest_segment_whose_creation_was_cut_is_removed_and_reported() {
    for (len, garbage) in [(0usize, 0u8), (5, 0), (32, 0), (17, 0xab), (32, 0xab)] {
        let dir = tempfile::tempdir().unwrap();
        drop(two_segments(dir.path()));
        let cut = dir.path().join(segment_name(6));
        std::fs::write(&cut, vec![garbage; len]).unwrap();
        let read_back = JournalDir::open(dir.path()).unwrap().read_back().unwrap();
        assert_eq!(positions(&read_back), [1, 2, 3, 4, 5], "a cut creation of {len} bytes");
        let expected = TornTail { offset: 0, bytes: len as u64 };
        assert_eq!(read_back.truncated, Some((segment_name(6), expected)));
        assert!(!cut.exists(), "removed");
    }
}

#[test]
fn a_bad_header_with_bytes_after_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(two_segments(dir.path()));
    let newest = dir.path().join(segment_name(4));
    let mut bytes = std::fs::read(&newest).unwrap();
    bytes[3] ^= 1; // the magic, with records after it
    std::fs::write(&newest, &bytes).unwrap();
    let refused = JournalDir::open(dir.path()).unwrap().read_back();
    assert!(matches!(refused, Err(JournalError::Format(FormatError::BadHeader { .. }))), "{refused:?}");
}
