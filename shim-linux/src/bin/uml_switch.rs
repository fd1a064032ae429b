//! `uml_switch`: the virtual switch daemon for User-Mode Linux (drop-in for
//! uml-utilities'). Everything lives in [`umlnet_linux::switchd`].
#![deny(unsafe_code)]

fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    std::process::exit(umlnet_linux::switchd::main_with_args(&argv));
}
