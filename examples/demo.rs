//! The main job, offline and with no set-up: a card's first and second dynamic
//! PINs with a live countdown.
//!
//! ```text
//! cargo run --example demo [-- --seconds N]
//! ```

use std::io::{IsTerminal, Write};
use std::time::Duration;

use dynpin::card::{Card, CardNumber, CardRef, PinPolicy};
use dynpin::clock::{Clock, SystemClock};
use dynpin::pin::PinCode;
use dynpin::secret::SecretBytes;

fn bar(pin: &PinCode, width: usize) -> String {
    let left = pin.validity().map_or(0.0, |v| 1.0 - v.fraction_elapsed());
    let filled = ((left * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

fn line(card: &Card, clock: &dyn Clock) -> Result<String, dynpin::Error> {
    let pins = card.pins(clock)?;
    let shown: Vec<String> = pins
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

    // A demo Bank Mellat card: only the BIN and the last four digits are kept.
    let number = CardNumber::parse("6104 3371 2345 6780")?;
    let card = Card::bank_card(
        "کارت ملت (demo)",
        CardRef::of(&number),
        SecretBytes::random(32)?,
        Some(PinPolicy::first_pin()),
        Some(PinPolicy::second_pin()),
    )?;
    let bank = card.bank().map_or("unknown bank", |b| b.name());
    println!(
        "dynpin demo — {} — {} **** {}",
        card.label(),
        bank,
        number.last_four()
    );

    let clock = SystemClock;
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
    let second = card.pin(dynpin::pin::PinKind::Second, &clock)?;
    println!("second PIN in Persian digits: {}", second.persian());
    Ok(())
}
