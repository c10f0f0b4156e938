//! The activation payload reader on arbitrary text: `inspect` must never
//! panic, and whatever it accepts must describe itself consistently. Key
//! derivation is not run (it is deliberately slow); the header, checksum and
//! layout checks before it are what untrusted QR codes reach.
#![no_main]

use dynpin::activation::{inspect, ActivationPayload};
use libfuzzer_sys::fuzz_target;

fn check(text: &str) {
    if let Ok(payload) = ActivationPayload::parse(text) {
        let info = payload.info();
        assert!(info.expires_at >= info.issued_at);
        assert_eq!(inspect(text).expect("parse and inspect agree"), info);
        assert!(info
            .label
            .as_ref()
            .is_none_or(|l| !l.is_empty() && l.len() <= 64));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
        // Most random text fails the prefix check: also try it as the encoded part.
        check(&format!("DPIN:{text}"));
    }
    check(&String::from_utf8_lossy(data));
});
