//! `umlnet`: the umbrella tool (being written).
fn main() {}
