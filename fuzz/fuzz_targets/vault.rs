//! The vault decoders on arbitrary input, including behind the checksums and
//! the AEAD that random bytes would never get past (`dynpin::vault::fuzzing`):
//!
//! - as a vault file: the checked parse, and the parse without checksums,
//!   whose accepted files must re-encode to a file that parses the same; a
//!   file with its checksums forged is accepted exactly when the unchecked
//!   parse accepts it;
//! - as decrypted contents: anything accepted re-encodes to the same bytes
//!   (the layout is canonical), and sealed under a fixed key into a complete
//!   vault it opens through the public API (open, platform-key unlock, PIN
//!   refresh, a save) exactly when the decoder accepts it;
//! - as a backup (no key derived) and as a backup's card list.
#![no_main]

use dynpin::vault::{fuzzing, VaultError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::parse(data);
    let unchecked = fuzzing::parse_unchecked(data);
    assert_ne!(
        unchecked,
        Err(VaultError::Corrupt("round trip")),
        "re-encoding changed the file"
    );
    let mut forged = data.to_vec();
    fuzzing::forge_checksums(&mut forged);
    assert_eq!(
        fuzzing::parse(&forged).is_ok(),
        unchecked.is_ok(),
        "checked and unchecked parses disagree"
    );

    let decoded = fuzzing::decode_contents(data);
    if let Ok(reencoded) = &decoded {
        assert_eq!(reencoded.as_slice(), data, "contents are not canonical");
    }
    let opened = fuzzing::open_sealed(data);
    assert_eq!(opened.is_ok(), decoded.is_ok(), "{opened:?} vs {decoded:?}");

    let _ = fuzzing::parse_backup(data);
    let _ = fuzzing::decode_backup_cards(data);
});
