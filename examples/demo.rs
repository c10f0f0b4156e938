//! The main job, offline and with no set-up: a bank issues a card, the phone
//! activates it into its encrypted vault, shows live first and second dynamic
//! PINs, and the bank accepts a PIN once, refuses its replay and a wrong PIN.
//!
//! ```text
//! cargo run --example demo [-- --seconds N] [--dir DIR]
//! ```
//!
//! The vault lives in a fresh temporary directory unless `--dir` names one.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use dynpin::activation::{self, ActivationCode, OnExisting};
use dynpin::card::{Card, CardNumber, CardRef};
use dynpin::clock::{Clock, SystemClock};
use dynpin::issuer::verifier::{Verifier, VerifierConfig};
use dynpin::issuer::{qr, CardRequest, Issuer};
use dynpin::pin::{PinCode, PinKind};
use dynpin::vault::{FileStorage, Vault, VaultOptions, DEFAULT_FILE_NAME};

const PASSWORD: &str = "demo passphrase";

fn bar(pin: &PinCode, width: usize) -> String {
    let left = pin.validity().map_or(0.0, |v| 1.0 - v.fraction_elapsed());
    let filled = ((left * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

fn line(card: &Card, clock: &dyn Clock) -> Result<String, dynpin::Error> {
    let shown: Vec<String> = card
        .pins(clock)?
        .iter()
        .map(|pin| {
            let left = pin.validity().map_or(0, |v| v.seconds_remaining());
            format!(
                "{:>6} PIN {:<10} {} {:>2}s",
                pin.kind(),
                pin.grouped(),
                bar(pin, 12),
                left
            )
        })
        .collect();
    Ok(shown.join("   "))
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
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    println!("── Bank: internet banking issues a dynamic-PIN activation ──");
    let number = CardNumber::parse("6104 3371 2345 6780")?;
    let issued = Issuer::new().provision(&CardRequest::new(CardRef::of(&number)), &*clock)?;
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
    let storage = FileStorage::new(&dir, DEFAULT_FILE_NAME);
    let mut vault = if Vault::exists(&storage)? {
        let mut vault = Vault::open(storage, Arc::clone(&clock))?;
        vault.unlock_with_password(PASSWORD)?;
        vault
    } else {
        Vault::create(
            storage,
            Arc::clone(&clock),
            PASSWORD,
            VaultOptions::default(),
        )?
    };
    println!(
        "vault: {} (Argon2id m = 64 MiB, t = 3; XChaCha20-Poly1305)",
        dir.join(DEFAULT_FILE_NAME).display()
    );
    let info = activation::inspect(issued.payload())?;
    println!(
        "card: {} ({}) **** {}",
        info.bank_name(),
        info.bank().map_or("", |b| b.persian_name()),
        info.card_ref.last_four
    );
    let typed = ActivationCode::parse(&issued.activation_code().persian())?;
    let started = std::time::Instant::now();
    let activated = activation::activate(issued.payload(), &typed, &*clock)?;
    println!("activated in {:.2} s", started.elapsed().as_secs_f64());
    let confirmation = activated.confirmation_code.clone();
    let card_id = vault.add_activated(activated, OnExisting::Replace)?;
    println!("confirmation code for internet banking: {confirmation}");
    println!(
        "bank checks it: {}",
        if issued.verify_confirmation(&confirmation)? {
            "accepted"
        } else {
            "REJECTED"
        }
    );

    vault.lock();
    println!("vault locked (keys wiped from memory); unlocking again with the app password…");
    vault.unlock_with_password(PASSWORD)?;

    println!("\n── Phone: live dynamic PINs ──");
    let live = std::io::stdout().is_terminal();
    for tick in 0..=seconds {
        let text = line(vault.card(card_id)?, &*clock)?;
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
    let second = vault.card(card_id)?.pin(PinKind::Second, &*clock)?;
    println!("second PIN in Persian digits: {}", second.persian());

    println!("\n── Bank: the customer pays online with the second PIN ──");
    let verifier = Verifier::new(VerifierConfig::default())?;
    let bank_card = verifier.register(issued.card()?);
    let show = |what: &str, result: Result<_, _>| match result {
        Ok(_) => println!("{what}: accepted"),
        Err(e) => println!("{what}: refused ({e})"),
    };
    show(
        "the second PIN",
        verifier.verify(bank_card, PinKind::Second, &second.digits(), &*clock),
    );
    show(
        "the same PIN again",
        verifier.verify(bank_card, PinKind::Second, &second.digits(), &*clock),
    );
    let wrong = format!("{:08}", (second.code().value() + 1) % 100_000_000);
    show(
        "a wrong PIN",
        verifier.verify(bank_card, PinKind::Second, &wrong, &*clock),
    );
    vault.lock();
    if temporary {
        std::fs::remove_dir_all(&dir)?;
        println!("\n(the demo's temporary vault was removed; pass --dir DIR to keep one)");
    }
    Ok(())
}
