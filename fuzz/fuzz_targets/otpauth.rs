//! `parse_otpauth` on arbitrary input, as UTF-8 when it is and as a lossy
//! string always. Besides "never panics", an accepted URI must make a card and
//! export to a URI that imports back to the same token (or be too long to export).
#![no_main]

use dynpin::import::{parse_otpauth, to_otpauth, ImportError};
use libfuzzer_sys::fuzz_target;

fn check(text: &str) {
    let Ok(imported) = parse_otpauth(text) else {
        return;
    };
    let expected = imported.clone();
    let card = imported
        .into_card()
        .expect("an imported token makes a card");
    match to_otpauth(&card) {
        Ok(uris) => {
            assert_eq!(uris.len(), 1);
            let back = parse_otpauth(&uris[0]).expect("an exported token imports");
            assert_eq!(back, expected);
        }
        // Long raw (unescaped) names can grow past the limit once escaped.
        Err(ImportError::TooLong { .. }) => {}
        Err(e) => panic!("an imported token does not export: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    check(&String::from_utf8_lossy(data));
});
