//! `parse_otpauth` on arbitrary input, as UTF-8 when it is and as a lossy
//! string always. Besides "never panics", an accepted URI must make a card and
//! export to a URI that imports back to the same token (or be too long to export).
#![no_main]

mod common;

use dynpin::import::parse_otpauth;
use libfuzzer_sys::fuzz_target;

fn check(text: &str) {
    if let Ok(imported) = parse_otpauth(text) {
        common::round_trips(imported);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    check(&String::from_utf8_lossy(data));
});
