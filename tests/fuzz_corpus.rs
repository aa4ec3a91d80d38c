//! Replays every input of the committed fuzz corpus (`fuzz/corpus/differential`)
//! through the fuzz target's logic, so the fuzz cases keep being checked by a
//! plain `cargo test`, without cargo-fuzz.

mod support;

#[test]
fn committed_corpus_passes_the_differential_check() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/differential");
    let mut inputs = 0;
    let mut operations = 0;
    for entry in std::fs::read_dir(&directory).expect("corpus directory exists") {
        let path = entry.expect("readable entry").path();
        let data = std::fs::read(&path).expect("readable input");
        operations += support::differential::run(&data);
        inputs += 1;
    }
    assert!(inputs >= 8, "the corpus should hold the committed seeds, found {inputs}");
    assert!(operations > inputs, "the seeds should decode into operations");
    eprintln!("fuzz corpus: {inputs} inputs, {operations} operations replayed");
}
