//! `tunctl`: persistent TAP devices for a user. See [`umlnet_linux::tunctl`].
#![deny(unsafe_code)]

fn main() {
    let args: Option<Vec<String>> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string().ok())
        .collect();
    let Some(args) = args else {
        eprint!(
            "tunctl: an argument is not valid UTF-8\n{}",
            umlnet_linux::tunctl::usage("tunctl")
        );
        std::process::exit(1);
    };
    std::process::exit(umlnet_linux::tunctl::main(&args));
}
