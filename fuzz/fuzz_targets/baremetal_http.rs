#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| umlnet_baremetal::http::fuzz_one(data));
