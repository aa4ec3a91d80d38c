//! Recovery against arbitrary journals, without cargo-fuzz: the committed
//! corpus of the `recovery` fuzz target, then random inputs from a fixed
//! seed. Opening must refuse with a typed error or yield a consistent
//! ledger, never panic (`tests/support/recovery_fuzz.rs`).

mod support;

#[test]
fn arbitrary_journals_are_refused_or_recovered_consistently() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/recovery");
    let (mut inputs, mut opened) = (0, 0);
    for entry in std::fs::read_dir(&directory).expect("corpus directory exists") {
        let data = std::fs::read(entry.expect("readable entry").path()).expect("readable input");
        opened += usize::from(support::recovery_fuzz::run(&data));
        inputs += 1;
    }
    let seed = std::fs::read(directory.join("checkpoint-seed")).expect("the checkpoint seed");
    assert!(
        support::recovery_fuzz::run(&seed),
        "a real checkpoint's body opens: the harness reaches restore"
    );
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        let mut data = Vec::new();
        for _ in 0..(state % 400) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            data.push(state as u8);
        }
        opened += usize::from(support::recovery_fuzz::run(&data));
        inputs += 1;
    }
    eprintln!("recovery fuzz: {inputs} inputs, {opened} opened");
    assert!(opened > 0 && opened < inputs, "some inputs open (empty journals at least), some are refused");
}
