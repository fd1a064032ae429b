#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| umlnet_linux::switch_status::fuzz_one(data));
