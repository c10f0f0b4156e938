//! The main job, offline and with no set-up: a bank issues a card, the phone
//! activates it, and the card's first and second dynamic PINs count down live.
//!
//! ```text
//! cargo run --example demo [-- --seconds N]
//! ```

use std::io::{IsTerminal, Write};
use std::time::Duration;

use dynpin::activation::{self, ActivationCode};
use dynpin::card::{Card, CardNumber, CardRef};
use dynpin::clock::{Clock, SystemClock};
use dynpin::issuer::{qr, CardRequest, Issuer};
use dynpin::pin::{PinCode, PinKind};

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
    let seconds: u64 = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => 5,
        [flag, n] if flag == "--seconds" => n
            .parse()
            .map_err(|_| format!("--seconds: '{n}' is not a number"))?,
        _ => return Err("usage: demo [--seconds N]".into()),
    };
    let clock = SystemClock;

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

    println!("\n── Phone: scan the QR code, type the code from the SMS ──");
    let info = activation::inspect(issued.payload())?;
    println!(
        "card: {} ({}) **** {}",
        info.bank_name(),
        info.bank().map_or("", |b| b.persian_name()),
        info.card_ref.last_four
    );
    let typed = ActivationCode::parse(&issued.activation_code().persian())?;
    let started = std::time::Instant::now();
    let activated = activation::activate(issued.payload(), &typed, &clock)?;
    println!(
        "activated in {:.2} s (Argon2id m = 64 MiB, t = 3)",
        started.elapsed().as_secs_f64()
    );
    println!(
        "confirmation code for internet banking: {}",
        activated.confirmation_code
    );
    println!(
        "bank checks it: {}",
        if issued.verify_confirmation(&activated.confirmation_code)? {
            "accepted"
        } else {
            "REJECTED"
        }
    );

    println!("\n── Phone: live dynamic PINs ──");
    let card = activated.card;
    let live = std::io::stdout().is_terminal();
    for tick in 0..=seconds {
        let text = line(&card, &clock)?;
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
    let second = card.pin(PinKind::Second, &clock)?;
    let bank_second = issued.card()?.pin(PinKind::Second, &clock)?;
    println!("second PIN in Persian digits: {}", second.persian());
    println!(
        "the bank computes the same second PIN: {}",
        if second == bank_second { "yes" } else { "NO" }
    );
    Ok(())
}
