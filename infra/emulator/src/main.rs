//! `sf-emulator` binary (see `--help`).

fn main() {}
