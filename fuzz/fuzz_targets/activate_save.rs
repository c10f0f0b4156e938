//! A payload's public header followed by its opened secrets, on arbitrary
//! input. The payload's crypto is skipped: anyone who knows an activation code
//! can seal any header and secrets, so only what they hold matters. Whatever
//! activates must save into the vault and reopen to the same card
//! (`dynpin::vault::fuzzing::activate_save_reopen`); a refusal must be a
//! typed error.
#![no_main]

use dynpin::vault::VaultError;
use dynpin::vault::fuzzing::{RoundTrip, activate_save_reopen};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match activate_save_reopen(data) {
        // A card the save had to refuse as unreadable is the bug this target
        // looks for, caught one step earlier: whatever activates must save.
        Err(RoundTrip::Refused(
            e @ (VaultError::UnreadableContents(_) | VaultError::Unstorable(_)),
        )) => panic!("activated, then the vault could not store it: {e:?}"),
        Ok(()) | Err(RoundTrip::NotActivated(_) | RoundTrip::Refused(_)) => {}
        Err(bug) => panic!("activated and saved, then: {bug:?}"),
    }
});
