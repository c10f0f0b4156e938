//! The main job, offline and with no set-up: a bank issues a card
//! (`dynpin-bank`), the phone activates it into its encrypted vault through
//! the `Authenticator` that Kotlin and Swift apps call (`dynpin-ffi`), shows
//! live first and second dynamic PINs, and the bank accepts a PIN once,
//! refuses its replay and a wrong PIN.
//!
//! ```text
//! cargo run --example demo [-- --seconds N] [--dir DIR]
//! ```
//!
//! The vault lives in a fresh temporary directory unless `--dir` names one.
//! The bank keeps its cards in memory, their seeds sealed under a key
//! encryption key drawn for the run; its API is async (one store shared by
//! every server), driven here by a current-thread runtime.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use dynpin::card::{CardNumber, CardRef};
use dynpin::clock::SystemClock;
use dynpin::pin::PinKind;
use dynpin::secret::fill_random;
use dynpin::vault::DEFAULT_FILE_NAME;
use dynpin_bank::keys::{KEY_LEN, KeyFile};
use dynpin_bank::store::memory::MemoryStore;
use dynpin_bank::verifier::{Verifier, VerifierConfig};
use dynpin_bank::{CardRequest, Issuer, qr};
use dynpin_ffi::{Authenticator, CardCodes, PinInfo, PinType, vault_exists};

const PASSWORD: &str = "demo passphrase";

fn bar(pin: &PinInfo, width: usize) -> String {
    let left = pin.fraction_elapsed.map_or(0.0, |f| 1.0 - f);
    let filled = ((left * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

fn line(codes: &CardCodes) -> String {
    let shown: Vec<String> = codes
        .pins
        .iter()
        .map(|pin| {
            format!(
                "{:>6} PIN {:<10} {} {:>2}s",
                PinKind::from(pin.kind),
                pin.grouped,
                bar(pin, 12),
                pin.seconds_remaining.unwrap_or(0)
            )
        })
        .collect();
    shown.join("   ")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seconds = 5u64;
    let mut dir = None;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        match (flag.as_str(), rest.next()) {
            ("--seconds", Some(n)) => {
                seconds = n
                    .parse()
                    .map_err(|_| format!("--seconds: '{n}' is not a number"))?
            }
            ("--dir", Some(d)) => dir = Some(std::path::PathBuf::from(d)),
            _ => return Err("usage: demo [--seconds N] [--dir DIR]".into()),
        }
    }
    let temporary = dir.is_none();
    let dir = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("dynpin-demo-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir)?;
    let clock = SystemClock;
    let bank = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    println!("── Bank: internet banking issues a dynamic-PIN activation ──");
    let number = CardNumber::parse("6104 3371 2345 6780")?;
    let issued = Issuer::new().provision(&CardRequest::new(CardRef::of(&number)), &clock)?;
    println!("{}", qr::to_terminal(issued.payload())?);
    println!(
        "payload ({} characters): {}",
        issued.payload().len(),
        issued.payload()
    );
    println!(
        "SMS to the customer: activation code {}",
        issued.activation_code().persian().as_str()
    );

    println!("\n── Phone: a vault for the cards, then scan the QR code and type the SMS code ──");
    let directory = dir.display().to_string();
    let auth = if vault_exists(directory.clone())? {
        let auth = Authenticator::open(directory, None)?;
        // The slow calls are async (Kotlin `suspend`, Swift `async`): they
        // run on a thread of their own; any executor can wait for them.
        bank.block_on(Arc::clone(&auth).unlock_with_password(PASSWORD.into()))?;
        auth
    } else {
        bank.block_on(Authenticator::create(directory, PASSWORD.into(), None))?
    };
    println!(
        "vault: {} (Argon2id m = 64 MiB, t = 3; XChaCha20-Poly1305)",
        dir.join(DEFAULT_FILE_NAME).display()
    );
    let info = auth.inspect_activation(issued.payload().to_owned())?;
    println!(
        "card: {} ({}) **** {}",
        info.bank_name.as_deref().unwrap_or("Unknown bank"),
        info.bank_name_fa.as_deref().unwrap_or(""),
        info.last_four
    );
    let started = std::time::Instant::now();
    let typed = issued.activation_code().persian().to_string();
    let activated =
        bank.block_on(Arc::clone(&auth).activate(issued.payload().to_owned(), typed, true))?;
    println!("activated in {:.2} s", started.elapsed().as_secs_f64());
    let confirmation = activated.confirmation_code;
    let card_id = activated.card.id;
    println!("confirmation code for internet banking: {confirmation}");
    // The bank takes the card's PINs only after this code, accepted once.
    let mut kek = [0u8; KEY_LEN];
    fill_random(&mut kek)?;
    let verifier = Verifier::new(
        VerifierConfig::default(),
        Arc::new(MemoryStore::new()),
        Arc::new(KeyFile::from_bytes("demo-kek", kek)),
    )?;
    kek.fill(0);
    let bank_card = bank.block_on(verifier.enroll(&issued, None))?;
    println!(
        "bank checks it: {}",
        match bank.block_on(verifier.confirm(bank_card, &confirmation, &clock)) {
            Ok(()) => "accepted".to_owned(),
            Err(e) => format!("REJECTED ({e})"),
        }
    );

    auth.lock();
    println!("vault locked (keys wiped from memory); unlocking again with the app password…");
    bank.block_on(Arc::clone(&auth).unlock_with_password(PASSWORD.into()))?;

    println!("\n── Phone: live dynamic PINs ──");
    let live = std::io::stdout().is_terminal();
    for tick in 0..=seconds {
        let codes = auth.codes()?;
        let text = codes
            .iter()
            .find(|c| c.card_id == card_id)
            .map(line)
            .unwrap_or_default();
        if live {
            print!("\r{text}");
            std::io::stdout().flush()?;
        } else {
            println!("{text}");
        }
        if tick < seconds {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    if live {
        println!();
    }
    let second = auth.pin(card_id, PinType::Second)?;
    println!("second PIN in Persian digits: {}", second.persian);

    println!("\n── Bank: the customer pays online with the second PIN ──");
    let show = |what: &str, result: Result<_, _>| match result {
        Ok(_) => println!("{what}: accepted"),
        Err(e) => println!("{what}: refused ({e})"),
    };
    show(
        "the second PIN",
        bank.block_on(verifier.verify(bank_card, PinKind::Second, &second.digits, &clock)),
    );
    show(
        "the same PIN again",
        bank.block_on(verifier.verify(bank_card, PinKind::Second, &second.digits, &clock)),
    );
    let value: u64 = second.digits.parse()?;
    let wrong = format!("{:08}", (value + 1) % 100_000_000);
    show(
        "a wrong PIN",
        bank.block_on(verifier.verify(bank_card, PinKind::Second, &wrong, &clock)),
    );
    auth.lock();
    if temporary {
        std::fs::remove_dir_all(&dir)?;
        println!("\n(the demo's temporary vault was removed; pass --dir DIR to keep one)");
    }
    Ok(())
}
