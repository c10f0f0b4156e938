//! Standard tokens through the public API: `otpauth://` import and export,
//! Google Authenticator's `otpauth-migration://` import, every rule, the
//! inputs that crash other apps, and codes checked against totp-rs.

use data_encoding::BASE64;
use dynpin::card::{Card, CardId, CardRef, LastFour, OtpToken, PinPolicy, TokenMode};
use dynpin::import::migration::{self, MigrationPayload, OtpParameters, OtpType};
use dynpin::import::{
    ImportError, ImportedToken, MAX_MIGRATION_ENTRIES, MAX_MIGRATION_URI_LEN, MAX_URI_LEN,
    parse_migration, parse_otpauth, to_otpauth,
};
use dynpin::otp::Algorithm;
use dynpin::pin::PinKind;
use dynpin::secret::SecretBytes;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use prost::Message;

/// The example of Google's Key Uri Format wiki page.
const GOOGLE_EXAMPLE: &str = "otpauth://totp/ACME%20Co:john.doe@email.com?\
    secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30";
const GOOGLE_SECRET: &str = "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ";

/// RFC 6238's seeds, base32.
const RFC_SHA1: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const RFC_SHA256: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
const RFC_SHA512: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
    GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA";

/// Fixed times for comparing codes (RFC 6238 Appendix B plus a few).
const TIMES: [u64; 8] = [
    59,
    1_111_111_109,
    1_111_111_111,
    1_234_567_890,
    2_000_000_000,
    20_000_000_000,
    1_700_000_000,
    4_102_444_800,
];

/// An independent computation: totp-rs.
fn reference_code(algorithm: Algorithm, digits: u8, step: u64, secret: &[u8], t: u64) -> String {
    let theirs = match algorithm {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
    };
    totp_rs::Builder::new()
        .with_algorithm(theirs)
        .with_digits(digits)
        .with_step_duration(step)
        .with_secret(secret.to_vec())
        .build_noncompliant()
        .generate(t)
        .to_string()
}

/// The reference code of an imported token: at time `t` for TOTP, at its
/// counter (step 1 s, time = counter) for HOTP.
fn reference_for(token: &OtpToken, t: u64) -> String {
    match token.mode {
        TokenMode::Totp { period } => reference_code(
            token.algorithm,
            token.digits,
            period,
            token.secret.expose(),
            t,
        ),
        TokenMode::Hotp { counter } => reference_code(
            token.algorithm,
            token.digits,
            1,
            token.secret.expose(),
            counter,
        ),
    }
}

fn code_of(card: &Card, kind: PinKind, t: u64) -> String {
    card.pin_at_millis(kind, i64::try_from(t).unwrap() * 1000)
        .unwrap()
        .digits()
}

fn err(uri: &str) -> ImportError {
    parse_otpauth(uri).expect_err(uri)
}

fn totp(query: &str) -> String {
    format!("otpauth://totp/ACME:bob?{query}")
}

/// A migration URI as Google Authenticator writes it.
fn migration_uri(payload: &MigrationPayload) -> String {
    let data = BASE64.encode(&payload.encode_to_vec());
    format!(
        "otpauth-migration://offline?data={}",
        utf8_percent_encode(&data, NON_ALPHANUMERIC)
    )
}

fn entry(secret: &[u8], name: &str, issuer: &str, otp_type: OtpType) -> OtpParameters {
    OtpParameters {
        secret: secret.to_vec(),
        name: name.into(),
        issuer: issuer.into(),
        otp_type: otp_type as i32,
        ..Default::default()
    }
}

fn payload(entries: Vec<OtpParameters>) -> MigrationPayload {
    MigrationPayload {
        otp_parameters: entries,
        version: 1,
        batch_size: 1,
        batch_index: 0,
        batch_id: -1_434_102_512,
    }
}

fn bank_card(bin: u32, first: PinPolicy, second: PinPolicy) -> Card {
    let mut card = Card::bank_card(
        CardId::random().unwrap(),
        "Salary",
        CardRef::new(bin, LastFour::parse("0042").unwrap()).unwrap(),
        SecretBytes::from((100u8..132).collect::<Vec<_>>()),
        Some(first),
        Some(second),
    )
    .unwrap();
    card.set_exportable(true);
    card
}

// ---------------------------------------------------------------------------
// otpauth:// import
// ---------------------------------------------------------------------------

#[test]
fn google_wiki_example_parses_and_gives_the_reference_codes() {
    let imported = parse_otpauth(GOOGLE_EXAMPLE).unwrap();
    assert_eq!(imported.label, "ACME Co (john.doe@email.com)");
    let t = &imported.token;
    assert_eq!(t.issuer.as_deref(), Some("ACME Co"));
    assert_eq!(t.account, "john.doe@email.com");
    assert_eq!((t.algorithm, t.digits), (Algorithm::Sha1, 6));
    assert_eq!(t.mode, TokenMode::Totp { period: 30 });
    assert_eq!(t.secret, SecretBytes::from_base32(GOOGLE_SECRET).unwrap());
    assert_eq!(t.secret.len(), 20);

    let secret = t.secret.clone();
    let card = imported.into_card().unwrap();
    assert_eq!(card.label(), "ACME Co (john.doe@email.com)");
    assert_eq!(card.pin_kinds(), [PinKind::Token]);
    for t in TIMES {
        assert_eq!(
            code_of(&card, PinKind::Token, t),
            reference_code(Algorithm::Sha1, 6, 30, secret.expose(), t),
            "t={t}"
        );
    }
}

#[test]
fn rfc6238_seeds_give_the_rfc_vectors_and_survive_a_round_trip() {
    // RFC 6238 Appendix B, 8 digits.
    let vectors: [(u64, [&str; 3]); 6] = [
        (59, ["94287082", "46119246", "90693936"]),
        (1_111_111_109, ["07081804", "68084774", "25091201"]),
        (1_111_111_111, ["14050471", "67062674", "99943326"]),
        (1_234_567_890, ["89005924", "91819424", "93441116"]),
        (2_000_000_000, ["69279037", "90698825", "38618901"]),
        (20_000_000_000, ["65353130", "77737706", "47863826"]),
    ];
    for (i, (algorithm, secret)) in [
        (Algorithm::Sha1, RFC_SHA1),
        (Algorithm::Sha256, RFC_SHA256),
        (Algorithm::Sha512, RFC_SHA512),
    ]
    .into_iter()
    .enumerate()
    {
        let uri = format!(
            "otpauth://totp/RFC%206238:{}?secret={}&algorithm={}&digits=8&issuer=RFC%206238",
            algorithm.name().to_lowercase(),
            secret.to_lowercase(),
            algorithm.name().to_lowercase()
        );
        let imported = parse_otpauth(&uri).unwrap();
        assert_eq!(imported.token.secret.len(), algorithm.output_len());
        let card = imported.clone().into_card().unwrap();
        let exported = to_otpauth(&card).unwrap();
        assert_eq!(exported.len(), 1);
        assert!(
            exported[0].contains(&format!("secret={secret}&")),
            "{}",
            exported[0]
        );
        let again = parse_otpauth(&exported[0]).unwrap();
        assert_eq!(again, imported);
        let card_again = again.into_card().unwrap();
        for (t, codes) in vectors {
            assert_eq!(
                code_of(&card, PinKind::Token, t),
                codes[i],
                "{algorithm} t={t}"
            );
            assert_eq!(code_of(&card_again, PinKind::Token, t), codes[i]);
        }
    }
}

#[test]
fn hotp_rfc4226_vectors() {
    let imported = parse_otpauth(&format!(
        "otpauth://hotp/alice@example.com?secret={RFC_SHA1}&counter=0"
    ))
    .unwrap();
    assert_eq!(imported.label, "alice@example.com");
    assert_eq!(imported.token.issuer, None);
    assert_eq!(imported.token.mode, TokenMode::Hotp { counter: 0 });
    let mut card = imported.into_card().unwrap();
    // RFC 4226 Appendix D.
    for expected in ["755224", "287082", "359152", "969429", "338314"] {
        assert_eq!(code_of(&card, PinKind::Token, 1_700_000_000), expected);
        card.advance_counter().unwrap();
    }
    let uri = &to_otpauth(&card).unwrap()[0];
    assert!(uri.ends_with("&counter=5"), "{uri}");
    assert!(
        uri.starts_with("otpauth://hotp/alice%40example.com?"),
        "{uri}"
    );
    let big = parse_otpauth(&format!(
        "otpauth://hotp/a?secret={RFC_SHA1}&counter=18446744073709551615"
    ))
    .unwrap();
    assert_eq!(big.token.mode, TokenMode::Hotp { counter: u64::MAX });
}

#[test]
fn scheme_type_parameter_names_and_algorithm_ignore_case() {
    for uri in [
        format!("OTPAUTH://TOTP/a?SECRET={RFC_SHA1}&ALGORITHM=sha256"),
        format!(
            "OtpAuth://tOtP/a?Secret={}&algorithm=Sha256",
            RFC_SHA1.to_lowercase()
        ),
        format!("otpauth://totp/a?secret={RFC_SHA1}&algorithm=SHA256"),
    ] {
        let t = parse_otpauth(&uri).unwrap().token;
        assert_eq!(t.algorithm, Algorithm::Sha256, "{uri}");
        assert_eq!(t.secret.expose(), b"12345678901234567890");
    }
    let hotp = parse_otpauth(&format!("otpauth://HoTp/a?secret={RFC_SHA1}&Counter=3")).unwrap();
    assert_eq!(hotp.token.mode, TokenMode::Hotp { counter: 3 });
}

#[test]
fn defaults_and_ranges() {
    let t = parse_otpauth(&totp(&format!("secret={RFC_SHA1}")))
        .unwrap()
        .token;
    assert_eq!((t.algorithm, t.digits), (Algorithm::Sha1, 6));
    assert_eq!(t.mode, TokenMode::Totp { period: 30 });
    for digits in 6..=8u8 {
        let t = parse_otpauth(&totp(&format!("secret={RFC_SHA1}&digits={digits}")))
            .unwrap()
            .token;
        assert_eq!(t.digits, digits);
    }
    for period in [10u64, 60, 300] {
        let t = parse_otpauth(&totp(&format!("secret={RFC_SHA1}&period={period}")))
            .unwrap()
            .token;
        assert_eq!(t.mode, TokenMode::Totp { period });
    }
    let digits_range = ImportError::DigitsOutOfRange { min: 6, max: 8 };
    let period_range = ImportError::PeriodOutOfRange { min: 10, max: 300 };
    for (query, expected) in [
        ("digits=4", digits_range.clone()),
        ("digits=5", digits_range.clone()),
        ("digits=9", digits_range.clone()),
        ("digits=10", digits_range.clone()),
        ("digits=262", digits_range.clone()),
        ("digits=99999999999999999999", digits_range.clone()),
        (
            "digits=-1",
            ImportError::InvalidNumber {
                parameter: "digits",
            },
        ),
        (
            "digits=",
            ImportError::InvalidNumber {
                parameter: "digits",
            },
        ),
        (
            "digits",
            ImportError::InvalidNumber {
                parameter: "digits",
            },
        ),
        (
            "digits=6.0",
            ImportError::InvalidNumber {
                parameter: "digits",
            },
        ),
        (
            "digits=%206",
            ImportError::InvalidNumber {
                parameter: "digits",
            },
        ),
        (
            "digits=%D9%A6",
            ImportError::InvalidNumber {
                parameter: "digits",
            },
        ),
        ("period=0", period_range.clone()),
        ("period=9", period_range.clone()),
        ("period=301", period_range.clone()),
        ("period=99999999999999999999999999", period_range.clone()),
        (
            "period=-30",
            ImportError::InvalidNumber {
                parameter: "period",
            },
        ),
        (
            "period=",
            ImportError::InvalidNumber {
                parameter: "period",
            },
        ),
        (
            "period=30s",
            ImportError::InvalidNumber {
                parameter: "period",
            },
        ),
        ("algorithm=MD5", ImportError::UnknownAlgorithm),
        ("algorithm=SHA-256", ImportError::UnknownAlgorithm),
        ("algorithm=", ImportError::UnknownAlgorithm),
        (
            "algorithm=SHA1%00",
            ImportError::ControlCharacter { field: "algorithm" },
        ),
        ("counter=0", ImportError::CounterNotAllowed),
    ] {
        assert_eq!(
            err(&totp(&format!("secret={RFC_SHA1}&{query}"))),
            expected,
            "{query}"
        );
    }
}

#[test]
fn hotp_needs_a_counter_in_range() {
    let hotp = |query: &str| format!("otpauth://hotp/a?secret={RFC_SHA1}{query}");
    assert_eq!(err(&hotp("")), ImportError::MissingCounter);
    assert_eq!(
        err(&hotp("&counter=18446744073709551616")),
        ImportError::CounterOutOfRange
    );
    assert_eq!(
        err(&hotp("&counter=99999999999999999999999999999")),
        ImportError::CounterOutOfRange
    );
    for bad in ["&counter=-1", "&counter=", "&counter=0x1", "&counter=1%20"] {
        assert_eq!(
            err(&hotp(bad)),
            ImportError::InvalidNumber {
                parameter: "counter"
            },
            "{bad}"
        );
    }
    // A period on an HOTP URI is checked, then ignored.
    let t = parse_otpauth(&hotp("&counter=4&period=30")).unwrap().token;
    assert_eq!(t.mode, TokenMode::Hotp { counter: 4 });
    assert_eq!(
        err(&hotp("&counter=4&period=0")),
        ImportError::PeriodOutOfRange { min: 10, max: 300 }
    );
}

#[test]
fn secrets() {
    // Any case, padded or not.
    for secret in ["GEZDGNBVGY3TQOJQ", "gezdgnbvgy3tqojq", "GeZdGnBvGy3TqOjQ"] {
        let t = parse_otpauth(&totp(&format!("secret={secret}")))
            .unwrap()
            .token;
        assert_eq!(t.secret.expose(), b"1234567890", "{secret}");
    }
    // Eleven bytes need padding; it may be given (exactly, raw or escaped) or left out.
    let padded = data_encoding::BASE32.encode(b"12345678901");
    for secret in [
        padded.clone(),
        padded.replace('=', "%3D"),
        padded.trim_end_matches('=').to_lowercase(),
    ] {
        let t = parse_otpauth(&totp(&format!("secret={secret}")))
            .unwrap()
            .token;
        assert_eq!(t.secret.expose(), b"12345678901", "{secret}");
    }
    assert_eq!(
        err(&totp(&format!("secret={}=", padded))),
        ImportError::InvalidSecret
    );
    // 10 bytes is the minimum: 9 bytes ("123456789") is too short.
    let nine = SecretBytes::from_slice(b"123456789").to_base32();
    assert_eq!(
        err(&totp(&format!("secret={}", nine.as_str()))),
        ImportError::SecretTooShort { min: 10 }
    );
    for (query, expected) in [
        ("issuer=ACME", ImportError::MissingSecret),
        ("", ImportError::MissingSecret),
        ("secret=", ImportError::EmptySecret),
        ("secret", ImportError::EmptySecret),
        ("secret=s", ImportError::InvalidSecret),
        ("secret=GEZDGNBV%20GY3TQOJQ", ImportError::InvalidSecret),
        ("secret=GEZDGNBV+GY3TQOJQ", ImportError::InvalidSecret),
        ("secret=GEZDGNBVGY3TQOJ1", ImportError::InvalidSecret),
        ("secret=GEZDGNBVGY3TQOJQ%3D", ImportError::InvalidSecret),
        ("secret=%3D%3D%3D%3D", ImportError::InvalidSecret),
        (
            "secret=GEZ%",
            ImportError::InvalidPercentEncoding { field: "secret" },
        ),
        ("secret=%FF", ImportError::InvalidUtf8 { field: "secret" }),
        (
            "secret=GEZDGNBVGY3TQOJQ%0A",
            ImportError::ControlCharacter { field: "secret" },
        ),
    ] {
        assert_eq!(err(&totp(query)), expected, "{query}");
    }
}

#[test]
fn labels_issuers_and_accounts() {
    let ok = |label: &str, query: &str| {
        parse_otpauth(&format!("otpauth://totp/{label}?secret={RFC_SHA1}{query}")).unwrap()
    };
    let show = |t: &ImportedToken| {
        (
            t.label.clone(),
            t.token.issuer.clone(),
            t.token.account.clone(),
        )
    };
    let some = |s: &str| Some(s.to_owned());
    for (label, query, expected) in [
        ("ACME:bob", "", ("ACME (bob)", some("ACME"), "bob")),
        ("ACME:%20%20bob", "", ("ACME (bob)", some("ACME"), "bob")),
        ("ACME:  bob", "", ("ACME (bob)", some("ACME"), "bob")),
        ("ACME%3Abob", "", ("ACME (bob)", some("ACME"), "bob")),
        (
            "ACME%3a%20bob",
            "&issuer=ACME",
            ("ACME (bob)", some("ACME"), "bob"),
        ),
        (
            "bob",
            "&issuer=ACME%20Co",
            ("ACME Co (bob)", some("ACME Co"), "bob"),
        ),
        ("bob", "", ("bob", None, "bob")),
        ("bob", "&issuer=A+B", ("A+B (bob)", some("A+B"), "bob")),
        (
            "A+B:bob",
            "&issuer=A%2BB",
            ("A+B (bob)", some("A+B"), "bob"),
        ),
        (
            "%D8%A8%D8%A7%D9%86%DA%A9:%D8%B9%D9%84%DB%8C",
            "",
            ("بانک (علی)", some("بانک"), "علی"),
        ),
        ("بانک:علی", "", ("بانک (علی)", some("بانک"), "علی")),
        ("a/b:c", "", ("a/b (c)", some("a/b"), "c")),
        (
            "Example:alice@google.com",
            "&issuer=Example",
            (
                "Example (alice@google.com)",
                some("Example"),
                "alice@google.com",
            ),
        ),
    ] {
        let t = ok(label, query);
        let (l, i, a) = expected;
        assert_eq!(show(&t), (l.to_owned(), i, a.to_owned()), "{label} {query}");
    }
    for (label, query, expected) in [
        ("", "", ImportError::EmptyAccount),
        ("%20", "", ImportError::EmptyAccount),
        ("ACME:", "", ImportError::EmptyAccount),
        ("ACME:%20", "", ImportError::EmptyAccount),
        (":bob", "", ImportError::EmptyIssuer),
        ("%20:bob", "", ImportError::EmptyIssuer),
        ("bob", "&issuer=", ImportError::EmptyIssuer),
        ("bob", "&issuer=%20", ImportError::EmptyIssuer),
        ("a:b:c", "", ImportError::InvalidLabel),
        ("a:b%3Ac", "", ImportError::InvalidLabel),
        // Found by fuzzing: a colon in the issuer parameter cannot be exported back.
        ("bob", "&issuer=A:B", ImportError::InvalidLabel),
        ("bob", "&issuer=A%3AB", ImportError::InvalidLabel),
        ("A:bob", "&issuer=A:B", ImportError::InvalidLabel),
        ("ACME:bob", "&issuer=Other", ImportError::IssuerMismatch),
        ("ACME:bob", "&issuer=acme", ImportError::IssuerMismatch),
        (
            "%2",
            "",
            ImportError::InvalidPercentEncoding { field: "label" },
        ),
        (
            "%G1",
            "",
            ImportError::InvalidPercentEncoding { field: "label" },
        ),
        (
            "bob%",
            "",
            ImportError::InvalidPercentEncoding { field: "label" },
        ),
        ("%FF", "", ImportError::InvalidUtf8 { field: "label" }),
        ("%C3%28", "", ImportError::InvalidUtf8 { field: "label" }),
        ("%ED%A0%80", "", ImportError::InvalidUtf8 { field: "label" }),
        (
            "bob%00",
            "",
            ImportError::ControlCharacter { field: "label" },
        ),
        (
            "bob%0D%0A",
            "",
            ImportError::ControlCharacter { field: "label" },
        ),
        (
            "bo\tb",
            "",
            ImportError::ControlCharacter { field: "label" },
        ),
        (
            "bob%C2%9B",
            "",
            ImportError::ControlCharacter { field: "label" },
        ),
        (
            "bob",
            "&issuer=%1B",
            ImportError::ControlCharacter { field: "issuer" },
        ),
        (
            "bob",
            "&issuer=%E",
            ImportError::InvalidPercentEncoding { field: "issuer" },
        ),
    ] {
        let uri = format!("otpauth://totp/{label}?secret={RFC_SHA1}{query}");
        assert_eq!(err(&uri), expected, "{uri}");
    }
    // A label too long for a card is cut for display; issuer and account are kept whole.
    let long = ok(&format!("{}:{}", "I".repeat(50), "a".repeat(50)), "");
    assert_eq!(long.label.chars().count(), 64);
    assert!(long.label.ends_with('…'));
    assert_eq!(long.token.account, "a".repeat(50));
    long.into_card().unwrap();
}

#[test]
fn duplicates_and_unknown_parameters() {
    for (name, value) in [
        ("secret", RFC_SHA1),
        ("issuer", "ACME"),
        ("algorithm", "SHA1"),
        ("digits", "6"),
        ("period", "30"),
    ] {
        // Names match ignoring case, so `digits` and `DIGITS` are the same parameter.
        let uri = totp(&format!(
            "secret={RFC_SHA1}&{name}={value}&{}={value}",
            name.to_uppercase()
        ));
        assert_eq!(
            err(&uri),
            ImportError::DuplicateParameter { parameter: name },
            "{uri}"
        );
    }
    assert_eq!(
        err(&format!(
            "otpauth://hotp/a?secret={RFC_SHA1}&counter=1&counter=1"
        )),
        ImportError::DuplicateParameter {
            parameter: "counter"
        }
    );
    // Unknown parameters are ignored, as are empty pairs.
    let t = parse_otpauth(&totp(&format!(
        "image=https%3A%2F%2Fexample.com%2Flogo.png&secret={RFC_SHA1}&&color=ff0000&lock=true&x"
    )))
    .unwrap();
    assert_eq!(t.token.secret.expose(), b"12345678901234567890");
    // ... but must still be well percent-encoded.
    assert_eq!(
        err(&totp(&format!("secret={RFC_SHA1}&image=a%2"))),
        ImportError::InvalidPercentEncoding { field: "query" }
    );
}

#[test]
fn not_otpauth() {
    for (uri, expected) in [
        (
            format!("https://totp/a?secret={RFC_SHA1}"),
            ImportError::NotOtpauth,
        ),
        (
            "otpauth-migration://offline?data=AA".to_owned(),
            ImportError::NotOtpauth,
        ),
        ("otpauth".to_owned(), ImportError::NotOtpauth),
        (String::new(), ImportError::NotOtpauth),
        (
            format!(" otpauth ://totp/a?secret={RFC_SHA1}"),
            ImportError::NotOtpauth,
        ),
        (
            format!("otpauth:/totp/a?secret={RFC_SHA1}"),
            ImportError::MalformedUri,
        ),
        (
            format!("otpauth:totp/a?secret={RFC_SHA1}"),
            ImportError::MalformedUri,
        ),
        (
            format!("otpauth://totp/a#x?secret={RFC_SHA1}"),
            ImportError::MalformedUri,
        ),
        (
            format!("otpauth://totp/a?secret={RFC_SHA1}#x"),
            ImportError::MalformedUri,
        ),
        (
            format!("otpauth://motp/a?secret={RFC_SHA1}"),
            ImportError::UnsupportedType,
        ),
        (
            format!("otpauth://steam/a?secret={RFC_SHA1}"),
            ImportError::UnsupportedType,
        ),
        (
            format!("otpauth:///a?secret={RFC_SHA1}"),
            ImportError::UnsupportedType,
        ),
        (
            format!("otpauth://totp:80/a?secret={RFC_SHA1}"),
            ImportError::UnsupportedType,
        ),
        (
            format!("otpauth://totp?secret={RFC_SHA1}"),
            ImportError::EmptyAccount,
        ),
    ] {
        assert_eq!(err(&uri), expected, "{uri}");
    }
    // Surrounding whitespace (a scanner's newline) is not part of the URI.
    parse_otpauth(&format!("\n otpauth://totp/a?secret={RFC_SHA1}\r\n")).unwrap();
}

#[test]
fn length_limit_comes_first() {
    let base = totp(&format!("secret={RFC_SHA1}&x="));
    let exact = format!("{base}{}", "y".repeat(MAX_URI_LEN - base.len()));
    parse_otpauth(&exact).unwrap();
    let over = format!("{exact}y");
    assert_eq!(err(&over), ImportError::TooLong { max: 2048 });
    // Checked before anything else: even garbage is "too long".
    assert_eq!(err(&"%".repeat(10_000)), ImportError::TooLong { max: 2048 });
    assert_eq!(err(&"é".repeat(1025)), ImportError::TooLong { max: 2048 });
}

/// Inputs that crash or confuse other authenticator apps: each gives a typed error.
#[test]
fn known_crashers_give_typed_errors() {
    let long = format!("otpauth://totp/a?secret={}", "A".repeat(4096));
    let cases: Vec<(String, ImportError)> = vec![
        (
            "otpauth://totp/%2?secret=s".into(),
            ImportError::InvalidPercentEncoding { field: "label" },
        ),
        ("otpauth://totp/a?secret=".into(), ImportError::EmptySecret),
        ("otpauth://totp/a".into(), ImportError::MissingSecret),
        ("otpauth://totp/a?".into(), ImportError::MissingSecret),
        (
            format!("otpauth://totp/a?secret={RFC_SHA1}&period=0"),
            ImportError::PeriodOutOfRange { min: 10, max: 300 },
        ),
        (
            format!("otpauth://totp/a?secret={RFC_SHA1}&digits=10"),
            ImportError::DigitsOutOfRange { min: 6, max: 8 },
        ),
        (
            format!("otpauth://totp/a?secret={RFC_SHA1}&digits=99999999999999999999"),
            ImportError::DigitsOutOfRange { min: 6, max: 8 },
        ),
        (
            format!("otpauth://totp/a?secret={RFC_SHA1}&period=99999999999999999999"),
            ImportError::PeriodOutOfRange { min: 10, max: 300 },
        ),
        (
            format!("otpauth://hotp/a?secret={RFC_SHA1}&counter=99999999999999999999"),
            ImportError::CounterOutOfRange,
        ),
        (
            format!("otpauth://totp/a?secret={RFC_SHA1}&digits=-1"),
            ImportError::InvalidNumber {
                parameter: "digits",
            },
        ),
        (
            format!("otpauth://totp/a?secret={RFC_SHA1}&digits="),
            ImportError::InvalidNumber {
                parameter: "digits",
            },
        ),
        (
            format!("otpauth://totp/a?secret={RFC_SHA1}&algorithm=SHA3"),
            ImportError::UnknownAlgorithm,
        ),
        (long, ImportError::TooLong { max: MAX_URI_LEN }),
        (
            "otpauth://totp/%?secret=s".into(),
            ImportError::InvalidPercentEncoding { field: "label" },
        ),
        (
            "otpauth://totp/a?secret=%".into(),
            ImportError::InvalidPercentEncoding { field: "secret" },
        ),
        ("otpauth://".into(), ImportError::UnsupportedType),
        ("otpauth:".into(), ImportError::MalformedUri),
        (":".into(), ImportError::NotOtpauth),
        (
            "otpauth://totp/a?secret=AA&digits=6".into(),
            ImportError::SecretTooShort { min: 10 },
        ),
    ];
    for (uri, expected) in cases {
        assert_eq!(parse_otpauth(&uri).err(), Some(expected), "{uri}");
    }
}

/// Neither `Debug` nor `Display` of any error, nor of a token, shows the secret.
#[test]
fn secrets_never_show_in_errors_or_tokens() {
    let s = GOOGLE_SECRET;
    let otpauth = [
        format!("otpauth://totp/a:b?secret={s}&issuer=c"),
        format!("otpauth://totp/a?secret={s}&digits=4"),
        format!("otpauth://totp/a?secret={s}&period=0"),
        format!("otpauth://totp/a?secret={s}&algorithm={s}"),
        format!("otpauth://totp/a?secret={s}&digits={s}"),
        format!("otpauth://totp/a?secret={s}&secret={s}"),
        format!("otpauth://totp/a?secret={s}%"),
        format!("otpauth://totp/a?secret={s}1"),
        format!("otpauth://totp/a?secret={s}%00"),
        format!("otpauth://totp/a?secret={s}%FF"),
        format!("otpauth://totp/%2?secret={s}"),
        format!("otpauth://totp/{s}:{s}:{s}?secret={s}"),
        format!("otpauth://hotp/a?secret={s}"),
        format!("otpauth://xotp/a?secret={s}"),
        format!("otpauth://totp/a?secret={s}&{}", "x".repeat(2048)),
        format!("otpauth://totp/a?secret={}", &s[..8]),
        format!("otpauth-migration://offline?data={s}"),
    ];
    let migration = [
        format!("otpauth-migration://offline?data={s}"),
        format!("otpauth-migration://online?data={s}"),
        format!("otpauth-migration://offline?data={s}%"),
        migration_uri(&payload(vec![
            entry(b"12345678901234567890", "ok", "", OtpType::Totp),
            entry(b"123456789", "short", "", OtpType::Totp),
        ])),
    ];
    let mut errors: Vec<ImportError> = otpauth
        .iter()
        .map(|u| parse_otpauth(u).unwrap_err())
        .chain(migration.iter().map(|u| parse_migration(u).unwrap_err()))
        .collect();
    let token_card = Card::token(
        CardId::random().unwrap(),
        "x",
        OtpToken {
            secret: SecretBytes::from_base32(s).unwrap(),
            algorithm: Algorithm::Sha1,
            digits: 10,
            mode: TokenMode::Totp { period: 30 },
            issuer: None,
            account: "a".into(),
        },
    )
    .unwrap();
    errors.push(to_otpauth(&token_card).unwrap_err());
    let mut locked = bank_card(628_023, PinPolicy::second_pin(), PinPolicy::second_pin());
    locked.set_exportable(false);
    errors.push(to_otpauth(&locked).unwrap_err());
    errors.push(
        to_otpauth(&bank_card(
            628_023,
            PinPolicy::first_pin(),
            PinPolicy::second_pin(),
        ))
        .unwrap_err(),
    );

    let imported = parse_otpauth(&otpauth[0].replace("issuer=c", "issuer=a")).unwrap();
    let texts: Vec<String> = errors
        .iter()
        .flat_map(|e| [format!("{e:?}"), format!("{e:#?}"), e.to_string()])
        .chain([
            format!("{imported:?}"),
            format!("{imported:#?}"),
            imported.to_string(),
        ])
        .collect();
    let raw = SecretBytes::from_base32(s).unwrap();
    let raw_lossy = String::from_utf8_lossy(raw.expose()).into_owned();
    for text in &texts {
        for needle in [s, &s.to_lowercase(), &s[..8], &raw_lossy] {
            assert!(!text.contains(needle), "{text}");
        }
        assert!(!text.contains("secret="), "URI in {text}");
    }
    assert_eq!(imported.to_string(), "a (b): TOTP, SHA1, 6 digits, 30 s");
    assert_eq!(
        errors[errors.len() - 4].to_string(),
        "account at index 1 (counting from 0): the secret must be at least 10 bytes"
    );
}

// ---------------------------------------------------------------------------
// otpauth:// export
// ---------------------------------------------------------------------------

#[test]
fn token_export_writes_every_field() {
    let token = OtpToken {
        secret: SecretBytes::from_base32(GOOGLE_SECRET).unwrap(),
        algorithm: Algorithm::Sha256,
        digits: 8,
        mode: TokenMode::Totp { period: 60 },
        issuer: Some("ACME Co & Sons".into()),
        account: "john.doe@email.com".into(),
    };
    let card = Card::token(
        CardId::random().unwrap(),
        "whatever the user named it",
        token.clone(),
    )
    .unwrap();
    let uris = to_otpauth(&card).unwrap();
    assert_eq!(
        uris,
        [format!(
            "otpauth://totp/ACME%20Co%20%26%20Sons:john.doe%40email.com?secret={GOOGLE_SECRET}\
             &issuer=ACME%20Co%20%26%20Sons&algorithm=SHA256&digits=8&period=60"
        )]
    );
    let back = parse_otpauth(&uris[0]).unwrap();
    assert_eq!(back.token, token);
    assert_eq!(back.label, "ACME Co & Sons (john.doe@email.com)");
    let again = back.into_card().unwrap();
    for t in TIMES {
        assert_eq!(
            code_of(&card, PinKind::Token, t),
            code_of(&again, PinKind::Token, t)
        );
    }
}

#[test]
fn token_export_refuses_what_would_not_import_back() {
    let base = OtpToken {
        secret: SecretBytes::from(vec![5; 20]),
        algorithm: Algorithm::Sha1,
        digits: 6,
        mode: TokenMode::Totp { period: 30 },
        issuer: None,
        account: "bob".into(),
    };
    let with = |f: &dyn Fn(&mut OtpToken)| {
        let mut t = base.clone();
        f(&mut t);
        to_otpauth(&Card::token(CardId::random().unwrap(), "x", t).unwrap())
    };
    assert!(with(&|_| {}).is_ok());
    assert_eq!(
        with(&|t| t.digits = 4),
        Err(ImportError::DigitsOutOfRange { min: 6, max: 8 })
    );
    assert_eq!(
        with(&|t| t.digits = 10),
        Err(ImportError::DigitsOutOfRange { min: 6, max: 8 })
    );
    assert_eq!(
        with(&|t| t.secret = SecretBytes::from(vec![5; 9])),
        Err(ImportError::SecretTooShort { min: 10 })
    );
    assert_eq!(
        with(&|t| t.account = "a:b".into()),
        Err(ImportError::InvalidLabel)
    );
    assert_eq!(
        with(&|t| t.issuer = Some("".into())),
        Err(ImportError::EmptyIssuer)
    );
    assert_eq!(
        with(&|t| t.account = "x".repeat(3000)),
        Err(ImportError::TooLong { max: 2048 })
    );
    let mut card = Card::token(CardId::random().unwrap(), "x", base.clone()).unwrap();
    card.set_exportable(false);
    assert_eq!(to_otpauth(&card), Err(ImportError::NotExportable));
}

#[test]
fn bank_card_exports_one_uri_per_pin_slot_with_its_derived_key() {
    let six = PinPolicy {
        algorithm: Algorithm::Sha256,
        digits: 6,
        period: 60,
    };
    let eight = PinPolicy::second_pin();
    let card = bank_card(628_023, six, eight);
    let uris = to_otpauth(&card).unwrap();
    assert_eq!(uris.len(), 2);
    assert!(
        uris[0].starts_with("otpauth://totp/Bank%20Maskan:Salary%20%28first%20PIN%29?secret="),
        "{}",
        uris[0]
    );
    assert!(uris[0].ends_with("&issuer=Bank%20Maskan&algorithm=SHA256&digits=6&period=60"));
    assert!(uris[1].contains(":Salary%20%28second%20PIN%29?"));
    assert!(uris[1].ends_with("&algorithm=SHA256&digits=8&period=60"));
    let first = parse_otpauth(&uris[0]).unwrap();
    let second = parse_otpauth(&uris[1]).unwrap();
    assert_eq!(first.label, "Bank Maskan (Salary (first PIN))");
    assert_eq!(second.token.account, "Salary (second PIN)");
    // The exported secret is the slot's derived key, not the master seed.
    assert_ne!(&first.token.secret, card.secret());
    assert_ne!(first.token.secret, second.token.secret);
    let (first_secret, second_secret) = (first.token.secret.clone(), second.token.secret.clone());
    let (first, second) = (first.into_card().unwrap(), second.into_card().unwrap());
    for t in TIMES {
        let expected = code_of(&card, PinKind::First, t);
        assert_eq!(code_of(&first, PinKind::Token, t), expected, "t={t}");
        assert_eq!(
            reference_code(Algorithm::Sha256, 6, 60, first_secret.expose(), t),
            expected
        );
        let expected = code_of(&card, PinKind::Second, t);
        assert_eq!(code_of(&second, PinKind::Token, t), expected, "t={t}");
        assert_eq!(
            reference_code(Algorithm::Sha256, 8, 60, second_secret.expose(), t),
            expected
        );
    }
}

#[test]
fn bank_card_export_rules() {
    let six = PinPolicy {
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: 30,
    };
    // Unknown bank: no issuer.
    let unknown = bank_card(123_456, six, six);
    let uris = to_otpauth(&unknown).unwrap();
    assert!(uris[0].starts_with("otpauth://totp/Salary%20%28first%20PIN%29?secret="));
    assert!(!uris[0].contains("issuer="));
    // Not exportable unless the issuer allowed it.
    let mut locked = bank_card(628_023, six, six);
    locked.set_exportable(false);
    assert_eq!(to_otpauth(&locked), Err(ImportError::NotExportable));
    // A 4-digit first PIN cannot be carried by an otpauth URI.
    let standard = bank_card(628_023, PinPolicy::first_pin(), PinPolicy::second_pin());
    let e = to_otpauth(&standard).unwrap_err();
    assert_eq!(
        e,
        ImportError::Slot {
            kind: PinKind::First,
            error: Box::new(ImportError::DigitsOutOfRange { min: 6, max: 8 })
        }
    );
    assert_eq!(
        e.to_string(),
        "the first PIN cannot be exported: a code must have 6 to 8 digits"
    );
    // A label with a colon cannot be the account.
    let mut colon = bank_card(628_023, six, six);
    colon.set_label("Salary: Ali").unwrap();
    assert!(matches!(
        to_otpauth(&colon),
        Err(ImportError::Slot { error, .. }) if *error == ImportError::InvalidLabel
    ));
}

// ---------------------------------------------------------------------------
// otpauth-migration:// import
// ---------------------------------------------------------------------------

/// A real-world-shaped export: two accounts as Google Authenticator writes
/// them (TOTP with issuer, HOTP without), built by `real_world_payload` and
/// checked in literally.
const REAL_WORLD_MIGRATION: &str = "otpauth-migration://offline?data=\
    CkEKFD3GyqSCSm0oh2eyMx4gtDFmy4XZEhpBQ01FIENvOmpvaG4uZG9lQGVtYWlsLmNvbRoHQUNNRSBDbyABKAEwAgoxChQx\
    MjM0NTY3ODkwMTIzNDU2Nzg5MBIRYWxpY2VAZXhhbXBsZS5jb20gASgBMAE4KhABGAEokKqV1Pr%2F%2F%2F%2F%2FAQ%3D%3D";

fn real_world_payload() -> MigrationPayload {
    let mut hotp = entry(
        b"12345678901234567890",
        "alice@example.com",
        "",
        OtpType::Hotp,
    );
    hotp.counter = 42;
    hotp.algorithm = migration::Algorithm::Sha1 as i32;
    hotp.digits = migration::DigitCount::Six as i32;
    let mut totp = entry(
        SecretBytes::from_base32(GOOGLE_SECRET).unwrap().expose(),
        "ACME Co:john.doe@email.com",
        "ACME Co",
        OtpType::Totp,
    );
    totp.algorithm = migration::Algorithm::Sha1 as i32;
    totp.digits = migration::DigitCount::Six as i32;
    payload(vec![totp, hotp])
}

#[test]
fn real_world_migration_uri() {
    assert_eq!(migration_uri(&real_world_payload()), REAL_WORLD_MIGRATION);
    let tokens = parse_migration(REAL_WORLD_MIGRATION).unwrap();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0], parse_otpauth(GOOGLE_EXAMPLE).unwrap());
    assert_eq!(tokens[1].label, "alice@example.com");
    assert_eq!(tokens[1].token.mode, TokenMode::Hotp { counter: 42 });
    assert_eq!(tokens[1].token.secret.expose(), b"12345678901234567890");
    let card = tokens[1].clone().into_card().unwrap();
    assert_eq!(
        code_of(&card, PinKind::Token, 0),
        reference_for(&tokens[1].token, 0)
    );
}

#[test]
fn migration_round_trip_gives_the_reference_codes() {
    let mut entries = vec![
        entry(b"12345678901234567890", "RFC:sha1", "RFC", OtpType::Totp),
        entry(
            b"12345678901234567890123456789012",
            "sha256",
            "RFC",
            OtpType::Totp,
        ),
        entry(&[0xA5; 64], "ACME:sha512", "", OtpType::Totp),
        entry(
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "short but ok",
            "",
            OtpType::Hotp,
        ),
    ];
    entries[1].algorithm = migration::Algorithm::Sha256 as i32;
    entries[1].digits = migration::DigitCount::Eight as i32;
    entries[2].algorithm = migration::Algorithm::Sha512 as i32;
    entries[3].counter = i64::MAX;
    let tokens = parse_migration(&migration_uri(&payload(entries))).unwrap();
    let summary: Vec<_> = tokens
        .iter()
        .map(|t| {
            (
                t.label.as_str(),
                t.token.algorithm,
                t.token.digits,
                t.token.mode,
            )
        })
        .collect();
    let totp30 = TokenMode::Totp { period: 30 };
    assert_eq!(
        summary,
        [
            ("RFC (sha1)", Algorithm::Sha1, 6, totp30),
            ("RFC (sha256)", Algorithm::Sha256, 8, totp30),
            ("ACME (sha512)", Algorithm::Sha512, 6, totp30),
            (
                "short but ok",
                Algorithm::Sha1,
                6,
                TokenMode::Hotp {
                    counter: i64::MAX as u64
                }
            ),
        ]
    );
    for token in tokens {
        let card = token.clone().into_card().unwrap();
        for t in TIMES {
            assert_eq!(
                code_of(&card, PinKind::Token, t),
                reference_for(&token.token, t)
            );
        }
        // Every migrated token exports as an otpauth URI that imports back equal.
        let uri = &to_otpauth(&card).unwrap()[0];
        assert_eq!(parse_otpauth(uri).unwrap(), token);
    }
    // Rfc 6238 codes from the first entry.
    let rfc = parse_migration(&migration_uri(&payload(vec![entry(
        b"12345678901234567890",
        "x",
        "",
        OtpType::Totp,
    )])))
    .unwrap();
    let card = rfc[0].clone().into_card().unwrap();
    assert_eq!(code_of(&card, PinKind::Token, 59), "287082");
}

#[test]
fn migration_uri_shapes() {
    let good = migration_uri(&real_world_payload());
    let data = good.split_once("data=").unwrap().1.to_owned();
    let raw_data = percent_encoding::percent_decode_str(&data)
        .decode_utf8()
        .unwrap()
        .into_owned();
    // Case-insensitive scheme/host, other parameters ignored, raw base64
    // (`+`, `/`, `=` unescaped: `+` is not a space) and unpadded base64 accepted.
    for uri in [
        good.replace("otpauth-migration://offline", "OTPAUTH-MIGRATION://OFFLINE"),
        format!("otpauth-migration://offline?x=1&data={data}&y"),
        format!("otpauth-migration://offline?data={raw_data}"),
        format!(
            "otpauth-migration://offline?data={}",
            raw_data.trim_end_matches('=')
        ),
        format!("  {good}\n"),
    ] {
        assert_eq!(parse_migration(&uri).unwrap().len(), 2, "{uri}");
    }
    for (uri, expected) in [
        (good.replace("offline", "online"), ImportError::NotMigration),
        (
            good.replace("otpauth-migration", "otpauth"),
            ImportError::NotMigration,
        ),
        (
            good.replace("otpauth-migration", "http"),
            ImportError::NotMigration,
        ),
        (
            good.replace("offline?", "offline/?"),
            ImportError::NotMigration,
        ),
        (good.replace("://", ":"), ImportError::MalformedUri),
        (format!("{good}#frag"), ImportError::MalformedUri),
        (
            "otpauth-migration://offline".into(),
            ImportError::MissingData,
        ),
        (
            "otpauth-migration://offline?".into(),
            ImportError::MissingData,
        ),
        (
            "otpauth-migration://offline?data=".into(),
            ImportError::MissingData,
        ),
        (
            "otpauth-migration://offline?date=AAAA".into(),
            ImportError::MissingData,
        ),
        (
            format!("{good}&data={data}"),
            ImportError::DuplicateParameter { parameter: "data" },
        ),
        (
            "otpauth-migration://offline?data=%2".into(),
            ImportError::InvalidPercentEncoding { field: "data" },
        ),
        (
            "otpauth-migration://offline?data=AA%0A".into(),
            ImportError::ControlCharacter { field: "data" },
        ),
        (
            "otpauth-migration://offline?data=!!!!".into(),
            ImportError::InvalidBase64,
        ),
        (
            "otpauth-migration://offline?data=A".into(),
            ImportError::InvalidBase64,
        ),
        (
            "otpauth-migration://offline?data=AA%3D%3D%3D".into(),
            ImportError::InvalidBase64,
        ),
        (
            "otpauth-migration://offline?data=Cg-_".into(),
            ImportError::InvalidBase64,
        ),
        (
            "otpauth-migration://offline?data=%2F%2F%2F%2F".into(),
            ImportError::InvalidPayload,
        ),
        (
            format!(
                "otpauth-migration://offline?data={}",
                BASE64.encode(&[0x0a, 0x05, 0x0a])
            ),
            ImportError::InvalidPayload,
        ),
        // An account whose name is not UTF-8.
        (
            format!(
                "otpauth-migration://offline?data={}",
                BASE64.encode(&[0x0a, 0x04, 0x12, 0x02, 0xff, 0xfe])
            ),
            ImportError::InvalidPayload,
        ),
        // A field of the wrong wire type.
        (
            format!(
                "otpauth-migration://offline?data={}",
                BASE64.encode(&[0x12, 0x01, 0x01])
            ),
            ImportError::InvalidPayload,
        ),
        (
            format!(
                "otpauth-migration://offline?data={}",
                BASE64.encode(&[0x10, 0x01])
            ),
            ImportError::NoEntries,
        ),
        (
            "otpauth-migration://offline?data=AAAA".into(),
            ImportError::InvalidPayload,
        ),
        (
            format!(
                "otpauth-migration://offline?data={}",
                "A".repeat(MAX_MIGRATION_URI_LEN)
            ),
            ImportError::TooLong {
                max: MAX_MIGRATION_URI_LEN,
            },
        ),
    ] {
        assert_eq!(parse_migration(&uri).err(), Some(expected), "{uri}");
    }
}

#[test]
fn one_bad_migration_entry_fails_the_import_and_is_named() {
    let ok = || entry(b"12345678901234567890", "ok", "", OtpType::Totp);
    let at = |index: usize, error: ImportError| ImportError::Entry {
        index,
        error: Box::new(error),
    };
    let mut md5 = ok();
    md5.algorithm = migration::Algorithm::Md5 as i32;
    let mut unknown_alg = ok();
    unknown_alg.algorithm = 9;
    let mut digits = ok();
    digits.digits = 3;
    let mut untyped = ok();
    untyped.otp_type = OtpType::Unspecified as i32;
    let mut negative = ok();
    negative.otp_type = OtpType::Hotp as i32;
    negative.counter = -1;
    for (bad, expected) in [
        (
            entry(b"123456789", "a", "", OtpType::Totp),
            ImportError::SecretTooShort { min: 10 },
        ),
        (entry(b"", "a", "", OtpType::Totp), ImportError::EmptySecret),
        (md5, ImportError::UnsupportedAlgorithm { name: "MD5" }),
        (unknown_alg, ImportError::UnknownAlgorithm),
        (digits, ImportError::DigitsOutOfRange { min: 6, max: 8 }),
        (untyped, ImportError::UnsupportedType),
        (negative, ImportError::CounterOutOfRange),
        (
            entry(b"12345678901234567890", "", "", OtpType::Totp),
            ImportError::EmptyAccount,
        ),
        (
            entry(b"12345678901234567890", "", "ACME", OtpType::Totp),
            ImportError::EmptyAccount,
        ),
        (
            entry(b"12345678901234567890", "A:b", "B", OtpType::Totp),
            ImportError::IssuerMismatch,
        ),
        (
            entry(b"12345678901234567890", "A:b:c", "", OtpType::Totp),
            ImportError::InvalidLabel,
        ),
        (
            entry(b"12345678901234567890", "b", "A:B", OtpType::Totp),
            ImportError::InvalidLabel,
        ),
        (
            entry(b"12345678901234567890", "a\nb", "", OtpType::Totp),
            ImportError::ControlCharacter { field: "name" },
        ),
        (
            entry(b"12345678901234567890", "a", "\u{7}", OtpType::Totp),
            ImportError::ControlCharacter { field: "issuer" },
        ),
        (
            entry(b"12345678901234567890", "a", " ", OtpType::Totp),
            ImportError::EmptyIssuer,
        ),
    ] {
        let uri = migration_uri(&payload(vec![ok(), ok(), bad]));
        assert_eq!(parse_migration(&uri).unwrap_err(), at(2, expected));
    }
    // Issuer in the field only, in the name only, or in both (equal).
    for (name, issuer) in [("bob", "ACME"), ("ACME:bob", ""), ("ACME: bob", "ACME")] {
        let uri = migration_uri(&payload(vec![entry(
            b"12345678901234567890",
            name,
            issuer,
            OtpType::Totp,
        )]));
        assert_eq!(parse_migration(&uri).unwrap()[0].label, "ACME (bob)");
    }
}

#[test]
fn migration_entry_count_is_limited() {
    let many = |n: usize| {
        migration_uri(&payload(
            (0..n)
                .map(|i| entry(&[7; 10], &format!("a{i}"), "", OtpType::Totp))
                .collect(),
        ))
    };
    assert_eq!(
        parse_migration(&many(MAX_MIGRATION_ENTRIES)).unwrap().len(),
        1000
    );
    assert_eq!(
        parse_migration(&many(MAX_MIGRATION_ENTRIES + 1)).unwrap_err(),
        ImportError::TooManyEntries { max: 1000 }
    );
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// Issuer and account names that survive import unchanged: printable, no
/// colon, no surrounding whitespace.
fn name() -> impl Strategy<Value = String> {
    "[^:\\p{C}\\s]([^:\\p{C}]{0,20}[^:\\p{C}\\s])?"
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

fn mode() -> impl Strategy<Value = TokenMode> {
    prop_oneof![
        (10u64..=300).prop_map(|period| TokenMode::Totp { period }),
        any::<u64>().prop_map(|counter| TokenMode::Hotp { counter }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC*") {
        let _ = parse_otpauth(&s);
        let _ = parse_migration(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let lossy = String::from_utf8_lossy(&bytes);
        let _ = parse_otpauth(&lossy);
        let _ = parse_migration(&lossy);
        let _ = parse_otpauth(&format!("otpauth://totp/{lossy}"));
        let _ = parse_otpauth(&format!("otpauth://hotp/a?secret={RFC_SHA1}&{lossy}"));
        // Arbitrary bytes as the protobuf payload.
        let _ = parse_migration(&format!(
            "otpauth-migration://offline?data={}",
            utf8_percent_encode(&BASE64.encode(&bytes), NON_ALPHANUMERIC)
        ));
    }

    #[test]
    fn otpauth_shaped_text_never_panics(
        kind in "(totp|hotp|TOTP|x)",
        label in "[a-zA-Z0-9%:@ .]{0,12}",
        query in "((secret|issuer|algorithm|digits|period|counter|image)=[A-Z2-7%0-9a-z+-]{0,24}&?){0,6}",
    ) {
        if let Ok(t) = parse_otpauth(&format!("otpauth://{kind}/{label}?{query}")) {
            let card = t.into_card().unwrap();
            prop_assert_eq!(to_otpauth(&card).unwrap().len(), 1);
        }
    }

    #[test]
    fn export_then_import_round_trips(
        secret in proptest::collection::vec(any::<u8>(), 10..=64),
        algorithm in algorithm(),
        digits in 6u8..=8,
        mode in mode(),
        issuer in proptest::option::of(name()),
        account in name(),
        t in 0u64..=40_000_000_000,
    ) {
        let token = OtpToken {
            secret: SecretBytes::from(secret),
            algorithm,
            digits,
            mode,
            issuer,
            account,
        };
        let card = Card::token(CardId::random().unwrap(), "x", token.clone()).unwrap();
        let uris = to_otpauth(&card).unwrap();
        prop_assert_eq!(uris.len(), 1);
        let back = parse_otpauth(&uris[0]).unwrap();
        prop_assert_eq!(&back.token, &token);
        let again = back.into_card().unwrap();
        prop_assert_eq!(code_of(&again, PinKind::Token, t), code_of(&card, PinKind::Token, t));
        prop_assert_eq!(code_of(&again, PinKind::Token, t), reference_for(&token, t));
    }

    #[test]
    fn migration_round_trips(
        entries in proptest::collection::vec(
            (
                proptest::collection::vec(any::<u8>(), 10..=64),
                0i32..=3,
                0i32..=2,
                1i32..=2,
                0i64..=i64::MAX,
                proptest::option::of(name()),
                name(),
            ),
            1..8,
        ),
    ) {
        let params: Vec<OtpParameters> = entries
            .iter()
            .map(|(secret, algorithm, digits, otp_type, counter, issuer, account)| OtpParameters {
                secret: secret.clone(),
                name: match issuer {
                    Some(i) => format!("{i}:{account}"),
                    None => account.clone(),
                },
                issuer: issuer.clone().unwrap_or_default(),
                algorithm: *algorithm,
                digits: *digits,
                otp_type: *otp_type,
                counter: *counter,
            })
            .collect();
        let tokens = parse_migration(&migration_uri(&payload(params))).unwrap();
        prop_assert_eq!(tokens.len(), entries.len());
        for (token, (secret, algorithm, digits, otp_type, counter, issuer, account)) in
            tokens.iter().zip(&entries)
        {
            let t = &token.token;
            prop_assert_eq!(t.secret.expose(), secret.as_slice());
            prop_assert_eq!(t.algorithm, Algorithm::ALL[usize::try_from(*algorithm).unwrap().max(1) - 1]);
            prop_assert_eq!(t.digits, if *digits == 2 { 8 } else { 6 });
            let mode = if *otp_type == 1 {
                TokenMode::Hotp { counter: u64::try_from(*counter).unwrap() }
            } else {
                TokenMode::Totp { period: 30 }
            };
            prop_assert_eq!(t.mode, mode);
            prop_assert_eq!(&t.issuer, issuer);
            prop_assert_eq!(&t.account, account);
        }
    }
}
