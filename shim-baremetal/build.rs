//! Puts `memory.x` where `cortex-m-rt`'s `link.x` finds it, and links the firmware
//! with `link.x`, only when building for a bare-metal ARM target (a host build of the
//! library needs neither).

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    let target = env::var("TARGET").unwrap_or_default();
    if !(target.starts_with("thumb") && target.ends_with("-none-eabi")) {
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x to OUT_DIR");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!(
        "cargo:rustc-link-arg-bins=-Map={}",
        out.join("umlnet-firmware.map").display()
    );
}
