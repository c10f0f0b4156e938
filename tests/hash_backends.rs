//! Which code path the hash crates take on this CPU: on an ARM phone (and
//! under QEMU in `scripts/test-aarch64`) SHA-1 and SHA-256 run on the ARMv8
//! SHA instructions and SHA-512 on the SHA-3 extension's, not on the portable
//! code the x86_64 runs mostly exercise. The detection below is the one the
//! `sha1`/`sha2` crates make (`cpufeatures`); the RFC vectors elsewhere in this
//! binary then check the results of whichever path it picked, and the digests
//! here check long inputs through it (NIST's "one million a").

use sha1::Digest as _;

/// Reports the backends; with `DYNPIN_EXPECT_ARM_SHA=1` (set by
/// `scripts/test-aarch64`) fails unless the ARMv8 paths are taken.
#[test]
fn the_hash_backends_in_use_are_reported_and_compute_the_nist_digests() {
    let (sha1_sha256, sha512) = backends();
    println!("hash backends: SHA-1/SHA-256 {sha1_sha256}, SHA-512 {sha512}");
    if std::env::var("DYNPIN_EXPECT_ARM_SHA").as_deref() == Ok("1") {
        assert_eq!(
            (cfg!(target_arch = "aarch64"), sha1_sha256, sha512),
            (
                true,
                "ARMv8 SHA-2 instructions",
                "ARMv8.2 SHA-3 instructions"
            ),
            "the ARM paths were not exercised"
        );
    }
    let million_a = vec![b'a'; 1_000_000];
    assert_eq!(
        hex(&sha1::Sha1::digest(&million_a)),
        "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
    );
    assert_eq!(
        hex(&sha2::Sha256::digest(&million_a)),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
    assert_eq!(
        hex(&sha2::Sha512::digest(&million_a)),
        "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb\
         de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(target_arch = "aarch64")]
fn backends() -> (&'static str, &'static str) {
    cpufeatures::new!(sha2_hwcap, "sha2");
    cpufeatures::new!(sha3_hwcap, "sha3");
    (
        if sha2_hwcap::get() {
            "ARMv8 SHA-2 instructions"
        } else {
            "portable"
        },
        if sha3_hwcap::get() {
            "ARMv8.2 SHA-3 instructions"
        } else {
            "portable"
        },
    )
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn backends() -> (&'static str, &'static str) {
    cpufeatures::new!(shani_cpuid, "sha", "sse2", "ssse3", "sse4.1");
    cpufeatures::new!(avx2_cpuid, "avx2");
    (
        if shani_cpuid::get() {
            "x86 SHA-NI instructions"
        } else {
            "portable"
        },
        if avx2_cpuid::get() {
            "x86 AVX2"
        } else {
            "portable"
        },
    )
}

#[cfg(not(any(target_arch = "aarch64", target_arch = "x86", target_arch = "x86_64")))]
fn backends() -> (&'static str, &'static str) {
    ("this target's default", "this target's default")
}
