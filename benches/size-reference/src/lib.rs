//! A bare UniFFI library with one exported TOTP function (RFC 6238, SHA-1,
//! 30 s, 6 digits): what `std`, the UniFFI runtime and the smallest useful OTP
//! code cost before any of dynpin is added.

use hmac::{Hmac, KeyInit, Mac};

uniffi::setup_scaffolding!();

/// The 6-digit TOTP code of `secret` at `unix_seconds` (`None` only if a
/// step that cannot fail did; there is no panic path to measure).
#[uniffi::export]
pub fn totp(secret: Vec<u8>, unix_seconds: u64) -> Option<u32> {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&secret).ok()?;
    mac.update(&(unix_seconds / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest.last()? & 0x0f);
    let word: [u8; 4] = digest.get(offset..offset + 4)?.try_into().ok()?;
    Some((u32::from_be_bytes(word) & 0x7fff_ffff) % 1_000_000)
}
