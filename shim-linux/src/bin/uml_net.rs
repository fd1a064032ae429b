//! `uml_net`: the helper the UML kernel runs to set up the host side of its tuntap,
//! ethertap and slip devices. See [`umlnet_linux::nethelper`].
#![deny(unsafe_code)]

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::exit(umlnet_linux::nethelper::main(&args));
}
