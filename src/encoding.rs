//! Text encodings of binary data (RFC 4648), strict: a text is accepted only
//! if it is the one canonical encoding of its bytes, so a corrupted character,
//! an impossible length or non-zero trailing bits are errors, not guesses.

use base64::Engine as _;
use zeroize::Zeroizing;

/// Upper-case base32, without padding.
pub(crate) fn base32_encode(data: &[u8]) -> String {
    base32::encode(base32::Alphabet::Rfc4648 { padding: false }, data)
}

/// Upper-case base32 with `=` padding to a multiple of eight characters.
fn base32_encode_padded(data: &[u8]) -> String {
    base32::encode(base32::Alphabet::Rfc4648 { padding: true }, data)
}

/// Decodes canonical upper-case base32: unpadded, or padded exactly.
pub(crate) fn base32_decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let unpadded = text.trim_end_matches('=');
    let bytes = Zeroizing::new(base32::decode(
        base32::Alphabet::Rfc4648 { padding: false },
        unpadded,
    )?);
    // The decoder is lenient (it drops trailing bits and accepts impossible
    // lengths): re-encoding and comparing makes it exact.
    let canonical = Zeroizing::new(if unpadded.len() == text.len() {
        base32_encode(&bytes)
    } else {
        base32_encode_padded(&bytes)
    });
    (canonical.as_str() == text).then_some(bytes)
}

/// Decodes standard base64 (`+` and `/`), padded exactly or not at all.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let engine = if text.ends_with('=') {
        &base64::engine::general_purpose::STANDARD
    } else {
        &base64::engine::general_purpose::STANDARD_NO_PAD
    };
    engine.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).unwrap().as_slice(), plain.as_bytes());
        }
        assert_eq!(base32_decode("MZXW6===").unwrap().as_slice(), b"foo");
        assert_eq!(base64_decode("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob");
    }

    #[test]
    fn rejects_non_canonical_text() {
        for bad in [
            "MZXW7",
            "M",
            "MZX",
            "MZXW6=",
            "MZXW6====",
            "mzxw6",
            "MZ XW",
            "MZXW1",
            "MY======MY======",
        ] {
            assert!(base32_decode(bad).is_none(), "{bad}");
        }
        for bad in ["Zm9vYg=", "Zm9vYh==", "Zm9v-g==", "Z"] {
            assert!(base64_decode(bad).is_none(), "{bad}");
        }
    }

    proptest! {
        /// The independent data-encoding crate agrees on every input.
        #[test]
        fn agrees_with_data_encoding(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let ours = base32_encode(&bytes);
            prop_assert_eq!(&ours, &data_encoding::BASE32_NOPAD.encode(&bytes));
            prop_assert_eq!(base32_decode(&ours).map(|b| b.to_vec()), Some(bytes.clone()));
            let padded = data_encoding::BASE32.encode(&bytes);
            prop_assert_eq!(base32_decode(&padded).map(|b| b.to_vec()), Some(bytes.clone()));
            prop_assert_eq!(base64_decode(&data_encoding::BASE64.encode(&bytes)), Some(bytes.clone()));
            prop_assert_eq!(base64_decode(&data_encoding::BASE64_NOPAD.encode(&bytes)), Some(bytes));
        }

        #[test]
        fn decoding_agrees_on_arbitrary_text(text in "[A-Z2-7=]{0,20}") {
            let ours = base32_decode(&text).map(|b| b.to_vec());
            let theirs = if text.contains('=') { data_encoding::BASE32.decode(text.as_bytes()).ok() } else { data_encoding::BASE32_NOPAD.decode(text.as_bytes()).ok() };
            // data-encoding accepts padded blocks mid-way ("MY======MY======"); padding may only end the text.
            let theirs = theirs.filter(|_| !text.trim_end_matches('=').contains('='));
            prop_assert_eq!(ours, theirs);
        }
    }
}
