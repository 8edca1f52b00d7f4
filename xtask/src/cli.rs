//! Help text.

pub fn usage() {
    eprintln!(
        "usage: cargo xtask <command>

commands:
  dev     run every function locally on an emulated AWS (moto), ready to curl; Ctrl-C stops it
  test    run every check and test: fmt, clippy, cfn-lint, OpenAPI lint, unit, integration
          and end-to-end tests (extra arguments go to `cargo test`, e.g. a module or test name filter)
  bench   run the benchmarks and print each figure with its baseline and their ratio
          (extra arguments go to criterion, e.g. a benchmark name filter)"
    );
}
