//! The one bounds-checked big-endian byte reader of every binary format
//! (activation payload, vault file, vault contents, backup). Each format
//! reports a short or malformed input in its own error type ([`FormatError`]),
//! so a reader never panics and never reads past its slice.

use core::marker::PhantomData;

/// How a format names what its reader found wrong.
pub(crate) trait FormatError {
    /// The input ended inside a field.
    fn truncated() -> Self;
    /// A length prefix exceeds its field's maximum.
    fn bad_length() -> Self;
    /// Bytes are left after the last field of `what`.
    fn trailing(what: &'static str) -> Self;
}

/// Reads fields front to back from a byte slice.
pub(crate) struct Reader<'a, E> {
    rest: &'a [u8],
    error: PhantomData<fn() -> E>,
}

impl<'a, E: FormatError> Reader<'a, E> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            error: PhantomData,
        }
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], E> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or_else(E::truncated)?;
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], E> {
        self.take(N)?.try_into().map_err(|_| E::truncated())
    }

    pub(crate) fn u8(&mut self) -> Result<u8, E> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, E> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, E> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, E> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, E> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// A `u16` length, at most `max`, then that many bytes.
    pub(crate) fn short_bytes(&mut self, max: usize) -> Result<&'a [u8], E> {
        let len = usize::from(self.u16()?);
        if len > max {
            return Err(E::bad_length());
        }
        self.take(len)
    }

    /// Fails unless every byte of `what` was read.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), E> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(E::trailing(what))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Found {
        Truncated,
        BadLength,
        Trailing(&'static str),
    }

    impl FormatError for Found {
        fn truncated() -> Self {
            Found::Truncated
        }
        fn bad_length() -> Self {
            Found::BadLength
        }
        fn trailing(what: &'static str) -> Self {
            Found::Trailing(what)
        }
    }

    #[test]
    fn reads_big_endian_and_stops_at_the_end() {
        let bytes = [1, 0, 2, 0, 0, 0, 3, 0, 2, b'h', b'i', 9];
        let mut r = Reader::<Found>::new(&bytes);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(2));
        assert_eq!(r.u32(), Ok(3));
        assert_eq!(r.short_bytes(2), Ok(&b"hi"[..]));
        assert_eq!(r.finish("x"), Err(Found::Trailing("x")));
        assert_eq!(r.u16(), Err(Found::Truncated));
        assert_eq!(r.remaining(), 1, "a failed read consumes nothing");
        assert_eq!(r.u8(), Ok(9));
        assert_eq!(r.finish("x"), Ok(()));
        assert_eq!(
            Reader::<Found>::new(&[0, 3, 1, 2, 3]).short_bytes(2),
            Err(Found::BadLength)
        );
        assert_eq!(Reader::<Found>::new(&[]).i64(), Err(Found::Truncated));
    }
}
