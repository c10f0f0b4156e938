//! The invariant both import targets check on every token they accept.

use dynpin::import::{parse_otpauth, to_otpauth, ImportError, ImportedToken};

/// An imported token makes a card, and the card exports to one `otpauth://`
/// URI that imports back to the same token (or is too long to export: long
/// raw names can grow past the limit once escaped).
pub(crate) fn round_trips(imported: ImportedToken) {
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
        Err(ImportError::TooLong { .. }) => {}
        Err(e) => panic!("an imported token does not export: {e}"),
    }
}
