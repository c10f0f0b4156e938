//! The card vault: encrypted, crash-safe storage of all cards (in progress).
