//! `parse_migration` on arbitrary input: as UTF-8 when it is, as a lossy
//! string always, and the raw bytes as the protobuf payload of an otherwise
//! well-formed `otpauth-migration://offline?data=` URI (so the fuzzer reaches
//! the payload and entry checks without having to invent base64). Every
//! accepted entry must make a card and export to an `otpauth://` URI that
//! imports back to the same token (or be too long to export).
#![no_main]

mod common;

use data_encoding::BASE64;
use dynpin::import::{parse_migration, MAX_MIGRATION_ENTRIES};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

fn check(text: &str) {
    let Ok(tokens) = parse_migration(text) else {
        return;
    };
    assert!(!tokens.is_empty() && tokens.len() <= MAX_MIGRATION_ENTRIES);
    tokens.into_iter().for_each(common::round_trips);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    check(&String::from_utf8_lossy(data));
    let data = BASE64.encode(data);
    check(&format!(
        "otpauth-migration://offline?data={}",
        utf8_percent_encode(&data, NON_ALPHANUMERIC)
    ));
});
