//! The tail: records read across segments as they are appended, from any
//! position; a removed segment and a corrupt durable record reported.

use super::super::entry::Entry;
use super::super::files::JournalDir;
use super::super::format::encode_record;
use super::*;
use crate::AccountId;

fn credit(position: u64) -> Entry {
    Entry::Credited { account: AccountId(1), amount: position }
}

/// Records `first..first + count`: credits of their own position, every
/// third a hole.
fn records(first: u64, count: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for position in first..first + count {
        if position % 3 == 2 {
            encode_record(position, HOLE_KIND, &[], &mut bytes);
        } else {
            let (kind, payload) = credit(position).encode();
            encode_record(position, kind, payload.as_ref(), &mut bytes);
        }
    }
    bytes
}

fn read_all(tail: &mut Tail, until: u64) -> Vec<u64> {
    let mut out = Vec::new();
    tail.read(until, usize::MAX, &mut out).unwrap();
    for (position, entry) in &out {
        assert_eq!(*entry, credit(*position), "each record is the one at its position");
    }
    out.into_iter().map(|(position, _)| position).collect()
}

fn not_holes(range: std::ops::Range<u64>) -> Vec<u64> {
    range.filter(|position| position % 3 != 2).collect()
}

#[test]
fn the_tail_follows_appends_and_segments_from_any_position() {
    let dir = tempfile::tempdir().unwrap();
    let journal = JournalDir::open(dir.path()).unwrap();
    let mut first = journal.create_segment(0).unwrap();
    first.append(&records(0, 10)).unwrap();
    let mut tail = Tail::new(dir.path(), 4, u64::MAX).unwrap();
    assert_eq!(read_all(&mut tail, 6), not_holes(4..6), "only below the durable bound");
    assert_eq!(read_all(&mut tail, 10), not_holes(6..10));
    assert_eq!(read_all(&mut tail, 10), Vec::<u64>::new(), "nothing new");
    first.append(&records(10, 5)).unwrap();
    let mut second = journal.create_segment(15).unwrap();
    second.append(&records(15, 5)).unwrap();
    assert_eq!(read_all(&mut tail, 20), not_holes(10..20), "across the segment boundary");
    assert_eq!(tail.position(), 20);

    let mut from_second = Tail::new(dir.path(), 17, u64::MAX).unwrap();
    assert_eq!(read_all(&mut from_second, 20), not_holes(17..20));
    let mut bounded = Tail::new(dir.path(), 0, u64::MAX).unwrap();
    let mut out = Vec::new();
    bounded.read(20, 3, &mut out).unwrap();
    assert_eq!(out.len(), 3, "at most `max` entries per read");
}

#[test]
fn a_removed_segment_is_reported_with_the_oldest_position_kept() {
    let dir = tempfile::tempdir().unwrap();
    let journal = JournalDir::open(dir.path()).unwrap();
    journal.create_segment(0).unwrap().append(&records(0, 5)).unwrap();
    journal.create_segment(5).unwrap().append(&records(5, 5)).unwrap();
    let mut early = Tail::new(dir.path(), 0, u64::MAX).unwrap();
    let mut behind = Tail::new(dir.path(), 0, u64::MAX).unwrap();
    assert_eq!(read_all(&mut behind, 5), not_holes(0..5), "at the end of the first segment");
    std::fs::remove_file(dir.path().join(segment_name(0))).unwrap();
    let error = Tail::new(dir.path(), 3, u64::MAX).unwrap_err();
    assert!(
        matches!(error, TailError::Compacted { requested: 3, oldest_kept: 5, checkpoint: None }),
        "{error:?}"
    );
    assert_eq!(read_all(&mut early, 10), not_holes(0..10), "an open segment stays readable");

    std::fs::remove_file(dir.path().join(segment_name(5))).unwrap();
    journal.create_segment(10).unwrap().append(&records(10, 5)).unwrap();
    let mut out = Vec::new();
    let error = behind.read(15, usize::MAX, &mut out).unwrap_err();
    assert!(
        matches!(error, TailError::Compacted { requested: 5, oldest_kept: 10, checkpoint: None }),
        "{error:?}"
    );
    assert!(out.is_empty(), "no event is skipped silently");
}

#[test]
fn a_durable_record_that_does_not_verify_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let journal = JournalDir::open(dir.path()).unwrap();
    let mut bytes = records(0, 4);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    journal.create_segment(0).unwrap().append(&bytes).unwrap();
    let mut tail = Tail::new(dir.path(), 0, u64::MAX).unwrap();
    let mut out = Vec::new();
    let error = tail.read(4, usize::MAX, &mut out).unwrap_err();
    assert!(
        matches!(error, TailError::Journal(JournalError::Format(FormatError::Corrupt { .. }))),
        "{error:?}"
    );

    let cut = tempfile::tempdir().unwrap();
    let journal = JournalDir::open(cut.path()).unwrap();
    let bytes = records(0, 4);
    journal.create_segment(0).unwrap().append(&bytes[..bytes.len() - 3]).unwrap();
    let mut tail = Tail::new(cut.path(), 0, u64::MAX).unwrap();
    let error = tail.read(4, usize::MAX, &mut out).unwrap_err();
    assert!(error.to_string().contains("a durable record cut short"), "{error}");
}

#[test]
fn a_segment_not_yet_written_is_opened_once_it_has_a_durable_record() {
    let dir = tempfile::tempdir().unwrap();
    let journal = JournalDir::open(dir.path()).unwrap();
    journal.create_segment(0).unwrap().append(&records(0, 5)).unwrap();
    // The flusher has just created the next segment's file, not yet its header.
    let path = dir.path().join(segment_name(5));
    std::fs::write(&path, b"").unwrap();
    let mut tail = Tail::new(dir.path(), 5, 5).expect("nothing durable in it yet: opened later");
    std::fs::remove_file(&path).unwrap();
    journal.create_segment(5).unwrap().append(&records(5, 3)).unwrap();
    assert_eq!(read_all(&mut tail, 8), not_holes(5..8));
}

#[test]
fn events_read_before_an_error_are_kept_and_a_removed_segment_on_the_way_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let journal = JournalDir::open(dir.path()).unwrap();
    journal.create_segment(0).unwrap().append(&records(0, 5)).unwrap();
    journal.create_segment(5).unwrap().append(&records(5, 5)).unwrap();
    journal.create_segment(10).unwrap().append(&records(10, 5)).unwrap();
    let mut midway = Tail::new(dir.path(), 0, u64::MAX).unwrap();
    let mut skipping = Tail::new(dir.path(), 12, u64::MAX).unwrap();
    let mut skipping_from_start = Tail::new(dir.path(), 0, u64::MAX).unwrap();
    skipping_from_start.from = 12;
    std::fs::remove_file(dir.path().join(segment_name(5))).unwrap();
    let mut out = Vec::new();
    let error = midway.read(15, usize::MAX, &mut out).unwrap_err();
    assert!(matches!(error, TailError::Compacted { requested: 5, .. }), "{error:?}");
    let kept: Vec<u64> = out.iter().map(|(position, _)| *position).collect();
    assert_eq!(kept, not_holes(0..5), "what was read before the gap is kept for delivery");
    assert_eq!(read_all(&mut skipping, 15), not_holes(12..15));
    assert_eq!(read_all(&mut skipping_from_start, 15), not_holes(12..15), "the removed segment is skipped");
}
