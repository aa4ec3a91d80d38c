//! Recovery against arbitrary journals: the bytes become a segment file (as
//! they are, or read as records and framed with valid checksums, as
//! `docs/journal.md` lays them out, so that they reach replay), or the body
//! of a checkpoint with a valid header and checksum (so that they reach its
//! decoding and the restore after it), and opening
//! must either refuse with a typed error or yield a consistent ledger.
//! Never a panic. Shared by the `recovery` fuzz target and
//! `tests/recovery_fuzz.rs`.

use std::sync::Arc;

use atomic_ledger::{Ledger, ManualClock};

const HEADER_LEN: usize = 32;
/// The segment and checkpoint format this build reads (`docs/journal.md`).
const FORMAT_VERSION: u32 = 3;

fn header(first_position: u64) -> Vec<u8> {
    let mut header = vec![0u8; HEADER_LEN];
    header[..8].copy_from_slice(b"ALEDGSEG");
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[16..24].copy_from_slice(&first_position.to_le_bytes());
    let crc = crc32c::crc32c(&header[..24]);
    header[24..28].copy_from_slice(&crc.to_le_bytes());
    header
}

fn frame(position: u64, body: &[u8], out: &mut Vec<u8>) {
    let mut frame = [0u8; 20];
    frame[..4].copy_from_slice(&(body.len() as u32).to_le_bytes());
    frame[4..12].copy_from_slice(&position.to_le_bytes());
    frame[12..16].copy_from_slice(&crc32c::crc32c(body).to_le_bytes());
    let frame_crc = crc32c::crc32c(&frame[..16]);
    frame[16..].copy_from_slice(&frame_crc.to_le_bytes());
    out.extend_from_slice(&frame);
    out.extend_from_slice(body);
}

/// `data` read as records: a kind byte, a length byte, then that many
/// payload bytes (fewer at the end), each framed at the next position.
fn framed(data: &[u8]) -> Vec<u8> {
    let mut segment = header(0);
    let (mut rest, mut position) = (data, 0u64);
    while let [kind, len, tail @ ..] = rest {
        let take = usize::from(*len).min(tail.len());
        let mut body = vec![*kind % 32];
        body.extend_from_slice(&tail[..take]);
        frame(position, &body, &mut segment);
        position += 1;
        rest = &tail[take..];
    }
    segment
}

/// A checkpoint file at position 0 whose body is `body`.
fn checkpoint(body: &[u8]) -> Vec<u8> {
    let mut bytes = b"ALEDGCKP".to_vec();
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&0u64.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
    let header_crc = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&header_crc.to_le_bytes());
    bytes.extend_from_slice(body);
    bytes
}

/// Runs one input; returns whether the journal opened.
pub fn run(data: &[u8]) -> bool {
    let Some((&mode, data)) = data.split_first() else { return false };
    let dir = tempfile::tempdir().expect("a temporary directory");
    if mode % 4 == 3 {
        let file = dir.path().join("checkpoint-00000000000000000000.ckpt");
        std::fs::write(file, checkpoint(data)).expect("write the checkpoint");
        return open(dir.path());
    }
    let mut segment = match mode % 4 {
        0 => data.to_vec(),
        _ => framed(data),
    };
    if mode % 4 == 2 && segment.len() > HEADER_LEN {
        // One flipped byte somewhere: corruption or a torn tail, never a panic.
        let at = HEADER_LEN + usize::from(mode / 3) * 7 % (segment.len() - HEADER_LEN);
        segment[at] ^= 0x5a;
    }
    std::fs::write(dir.path().join("segment-00000000000000000000.log"), &segment).expect("write the segment");
    open(dir.path())
}

/// Opens the ledger in `dir`: a consistent ledger or a typed error.
fn open(dir: &std::path::Path) -> bool {
    let opened = Ledger::builder()
        .accounts_max(64)
        .transfer_ids_max(256)
        .transfer_id_shards(4)
        .holds_max(64)
        .credentials_max(16)
        .buckets_max(16)
        .clock(Arc::new(ManualClock::new(0)))
        .open(dir);
    match opened {
        Ok(ledger) => {
            let audit = ledger.audit();
            assert!(audit.is_consistent(), "recovery accepted a journal and left {audit:?}");
            true
        }
        Err(_) => false,
    }
}
