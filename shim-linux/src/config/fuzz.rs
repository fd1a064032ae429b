//! The fuzz target of the config file: parse, print, parse again.

use super::parse::parse;

/// Fuzz entry point: [`parse`] never panics; what it accepts prints back (as
/// [`HostConfig`]'s `Display`) to a file that parses to an equal configuration, and an
/// error names a line within the text.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(cfg) => {
            let printed = cfg.to_string();
            let numeric = parse(&printed).expect("a printed configuration parses");
            assert_eq!(numeric, cfg, "{printed}");
            let _ = cfg.plan(&[]);
        }
        Err(e) => assert!(e.line <= text.lines().count() + 1, "{e}"),
    }
}
