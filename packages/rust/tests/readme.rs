//! The README's quick start is examples/quickstart.rs, byte for byte: the example is what
//! tests/e2e/quickstarts.test.mjs runs behind the real worker.

#[test]
fn the_readme_quick_start_is_the_example() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/quickstart.rs");
    let after = readme.split("and `src/main.rs`:\n\n```rust,no_run\n").nth(1).expect("the quick start's main.rs block");
    let block = &after[..after.find("```\n").expect("the block's end")];
    assert_eq!(block, example, "packages/rust/README.md's quick start differs from examples/quickstart.rs");
}
