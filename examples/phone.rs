//! The phone's side of dynamic PINs, as a command: activate cards from the
//! bank's QR code (a PNG image) or payload text, keep them in the encrypted
//! card vault, and show their PINs — once, or live with a countdown.
//!
//! ```text
//! cargo run --example phone -- activate --png card.png 1234 5678 9012 3456
//! cargo run --example phone -- watch
//! cargo run --example phone -- amount 6780 5000000 Digikala
//! cargo run --example phone -- --help
//! ```
//!
//! It talks to `examples/bank.rs` only through what a person carries between
//! them: the payload, the activation code, the confirmation code and the PINs.
//! The cards live in a `dynpin::vault::Vault` (`vault.bin`) under `--dir DIR`
//! (default `$XDG_DATA_HOME/dynpin/phone` or `~/.local/share/dynpin/phone`),
//! encrypted under the app password: `--password P`, else the environment
//! variable `DYNPIN_PASSWORD`, else a prompt. The first use creates the vault.
//!
//! Exit status: 0 done, 1 failed or refused, 2 bad usage.

use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

mod cli;

use cli::{create_dir, parse_amount, state_dir, usage, Args, Res};
use dynpin::activation::{self, ActivationCode, OnExisting};
use dynpin::card::{Card, CardId, LastFour};
use dynpin::clock::{Clock, SystemClock};
use dynpin::import::{migration::parse_migration, parse_otpauth};
use dynpin::kdf::KdfParams;
use dynpin::pin::PinCode;
use dynpin::text;
use dynpin::vault::{FileStorage, Vault, VaultError, VaultOptions, DEFAULT_FILE_NAME};
use zeroize::Zeroizing;

const USAGE: &str = "\
usage: phone [--dir DIR] [--password P] [--fast-kdf] <command>
       phone activate <PAYLOAD-TEXT | --png FILE> <ACTIVATION-CODE> [--replace]
       phone list | codes | watch [--seconds N]
       phone amount <CARD> <AMOUNT-RIALS> <PAYEE>
       phone ceiling <CARD> <RIALS|none> | rename <CARD> <LABEL> | remove <CARD>
       phone import <otpauth://… | otpauth-migration://…>
       phone --help";

const HELP: &str = "\
The phone's side of dynamic PINs (a demonstration of the dynpin app core).

Commands:
  activate <PAYLOAD-TEXT> <CODE>   activate a card from the payload text the bank showed
  activate --png FILE <CODE>       ... or from a picture of its QR code; CODE is the
                                   activation code from the SMS (spaces allowed);
                                   prints the confirmation code for the bank.
                                   --replace replaces a card already in the app
  list                             the cards: bank, last four digits, label, ceiling
  codes                            every PIN once: `<card> <kind> <digits> (<seconds>s)`
  watch [--seconds N]              every PIN live with a countdown, for N seconds (default:
                                   until Ctrl-C on a terminal, 10 otherwise); stops when
                                   the vault locks itself after its idle time (120 s)
  amount <CARD> <AMOUNT-RIALS> <PAYEE>
                                   a second PIN bound to this amount and payee; refused
                                   above the card's ceiling
  ceiling <CARD> <RIALS|none>      the largest amount to make amount-bound PINs for
  rename <CARD> <LABEL>            rename a card
  remove <CARD>                    remove a card
  import <URI>                     add a plain TOTP/HOTP token (otpauth://) or Google
                                   Authenticator's export (otpauth-migration://)

CARD is a card's last four digits, its label or its id. Digits may be typed in ASCII,
Persian or Arabic-Indic numerals.

Options:
  --dir DIR      where the vault is (default $XDG_DATA_HOME/dynpin/phone or
                 ~/.local/share/dynpin/phone)
  --password P   the vault password (else $DYNPIN_PASSWORD, else a prompt); the first
                 use creates the vault with it (at least 6 characters, not a common one)
  --fast-kdf     create the vault with Argon2id at its minimum: for tests only

Exit status: 0 done, 1 failed or refused, 2 bad usage.";

const COMMANDS: [&str; 9] = [
    "activate", "list", "codes", "watch", "amount", "ceiling", "rename", "remove", "import",
];

fn takes_value(option: &str) -> bool {
    matches!(option, "--dir" | "--password" | "--png" | "--seconds")
}

// ---- small helpers ---------------------------------------------------------

/// Turns terminal echo off (or back on) while a password is typed.
fn echo(on: bool) {
    let _ = Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(Stdio::inherit())
        .stderr(Stdio::null())
        .status();
}

/// One line from standard input without its line break; a prompt on standard
/// error (and no echo) when it is a terminal.
fn prompt_secret(prompt: &str) -> Res<Zeroizing<String>> {
    let stdin = io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("{prompt}");
        io::stderr().flush()?;
        echo(false);
    }
    let mut line = Zeroizing::new(String::new());
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        echo(true);
        eprintln!();
    }
    if read? == 0 {
        return Err("no password given (use --password, DYNPIN_PASSWORD or type it)".into());
    }
    let trimmed = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed);
    Ok(line)
}

// ---- the vault -------------------------------------------------------------

struct Settings {
    dir: PathBuf,
    password: Option<Zeroizing<String>>,
    fast_kdf: bool,
}

impl Settings {
    fn password(&self, new: bool) -> Res<Zeroizing<String>> {
        if let Some(password) = &self.password {
            return Ok(password.clone());
        }
        if let Ok(password) = std::env::var("DYNPIN_PASSWORD") {
            return Ok(Zeroizing::new(password));
        }
        if !new {
            return prompt_secret("vault password: ");
        }
        let first = prompt_secret("new vault password: ")?;
        if io::stdin().is_terminal() && *prompt_secret("again: ")? != *first {
            return Err("the two passwords differ".into());
        }
        Ok(first)
    }

    /// The vault, unlocked; created on first use.
    fn vault(&self) -> Res<Vault> {
        let storage = FileStorage::new(&self.dir, DEFAULT_FILE_NAME);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        if Vault::exists(&storage)? {
            let mut vault = Vault::open(storage, clock)?;
            match vault.unlock_with_password(&self.password(false)?) {
                Ok(()) => Ok(vault),
                Err(VaultError::WrongPassword {
                    remaining_attempts,
                    wait_seconds,
                }) if wait_seconds > 0 => Err(format!(
                    "wrong password; {remaining_attempts} attempts left, the next one in {wait_seconds} s"
                )
                .into()),
                Err(e) => Err(e.into()),
            }
        } else {
            create_dir(&self.dir)?;
            let options = VaultOptions {
                kdf: if self.fast_kdf {
                    KdfParams::MINIMUM
                } else {
                    KdfParams::DEFAULT
                },
                ..VaultOptions::default()
            };
            let vault = Vault::create(storage, clock, &self.password(true)?, options)?;
            eprintln!("created a new card vault in {}", self.dir.display());
            Ok(vault)
        }
    }
}

/// How a card is named in machine-friendly lines: its last four digits, or
/// the label of a plain token.
fn short_name(card: &Card) -> String {
    card.card_ref()
        .map_or_else(|| card.label().to_owned(), |r| r.last_four.to_string())
}

/// The card `selector` names: its id, its last four digits, or its label.
fn find_card(vault: &mut Vault, selector: &str) -> Res<CardId> {
    let cards = vault.cards()?;
    if let Some(id) = CardId::parse(&selector.to_ascii_lowercase()) {
        if cards.iter().any(|c| c.id() == id) {
            return Ok(id);
        }
    }
    let last_four = text::parse_code(selector, 4)
        .ok()
        .and_then(|d| LastFour::parse(&d).ok());
    let by_digits: Vec<&Card> = cards
        .iter()
        .filter(|c| last_four.is_some() && c.card_ref().map(|r| r.last_four) == last_four)
        .collect();
    // Then the label: exactly, ignoring case, or the start of one label.
    let lower = selector.to_lowercase();
    let label_rules: [&dyn Fn(&Card) -> bool; 3] = [
        &|c| c.label() == selector,
        &|c| c.label().to_lowercase() == lower,
        &|c| c.label().to_lowercase().starts_with(&lower),
    ];
    let mut matching = by_digits;
    for rule in label_rules {
        if !matching.is_empty() {
            break;
        }
        matching = cards.iter().filter(|c| rule(c)).collect();
    }
    match matching.as_slice() {
        [] => Err(format!("no card matches '{selector}' (see `phone list`)").into()),
        [one] => Ok(one.id()),
        several => {
            let ids: Vec<String> = several.iter().map(|c| c.id().to_string()).collect();
            Err(format!(
                "several cards match '{selector}'; use a card id: {}",
                ids.join(", ")
            )
            .into())
        }
    }
}

// ---- activation ------------------------------------------------------------

/// Reads the QR code in a PNG image, as a phone camera would.
fn decode_png(path: &str) -> Res<String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut decoder = png::Decoder::new(io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("{path} is not a PNG image ({e})"))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| format!("{path}: the image is too large"))?;
    let mut pixels = vec![0u8; size];
    let info = reader
        .next_frame(&mut pixels)
        .map_err(|e| format!("{path}: the image cannot be decoded ({e})"))?;
    let channels = info.color_type.samples();
    let (width, height, stride) = (info.width as usize, info.height as usize, info.line_size);
    let grey = |x: usize, y: usize| -> u8 {
        let at = y * stride + x * channels;
        let sample = |i: usize| u32::from(pixels.get(at + i).copied().unwrap_or(255));
        let (value, alpha) = match channels {
            1 => (sample(0), 255),
            2 => (sample(0), sample(1)),
            3 => (
                (299 * sample(0) + 587 * sample(1) + 114 * sample(2)) / 1000,
                255,
            ),
            _ => (
                (299 * sample(0) + 587 * sample(1) + 114 * sample(2)) / 1000,
                sample(3),
            ),
        };
        // Transparent pixels are shown over white.
        u8::try_from((value * alpha + 255 * (255 - alpha)) / 255).unwrap_or(255)
    };
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, grey);
    let decoded: Vec<String> = image
        .detect_grids()
        .iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, content)| content))
        .collect();
    decoded
        .iter()
        .find(|c| c.to_ascii_uppercase().starts_with(activation::PREFIX))
        .or(decoded.first())
        .cloned()
        .ok_or_else(|| format!("no readable QR code in {path}").into())
}

fn describe_duration(seconds: u64) -> String {
    match seconds {
        0..=119 => format!("{seconds} s"),
        120..=7199 => format!("{} min", seconds / 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

fn activate(settings: &Settings, mut args: Args) -> Res<ExitCode> {
    let png = args.value("--png")?;
    let replace = args.flag("--replace");
    args.done()?;
    let (text, code) = match png {
        Some(path) => (decode_png(&path)?, args.positionals.join(" ")),
        None => match args.positionals.split_first() {
            Some((payload, code)) => (payload.clone(), code.join(" ")),
            None => return usage("activate needs the payload (or --png FILE) and the code"),
        },
    };
    if code.trim().is_empty() {
        return usage("activate needs the activation code from the SMS");
    }
    let code = match ActivationCode::parse(&code) {
        Ok(code) => code,
        Err(e) => return usage(format!("the activation code is not valid: {e}")),
    };

    let info = activation::inspect(&text)?;
    let now = dynpin::otp::unix_seconds(SystemClock.now_millis(), 0)?;
    let bank = info
        .bank()
        .map_or(String::new(), |b| format!(" ({})", b.persian_name()));
    println!(
        "card: {}{bank} **** {}",
        info.bank_name(),
        info.card_ref.last_four
    );
    if let Some(label) = &info.label {
        println!("label: {label}");
    }
    println!(
        "activation {}: {}",
        info.activation_id,
        if now < info.expires_at {
            format!("expires in {}", describe_duration(info.expires_at - now))
        } else {
            "expired".to_owned()
        }
    );

    let mut vault = settings.vault()?;
    let present = vault
        .cards()?
        .iter()
        .any(|c| c.card_ref() == Some(info.card_ref));
    if present && !replace {
        return Err(format!(
            "card **** {} is already in the app (use --replace to activate it again)",
            info.card_ref.last_four
        )
        .into());
    }
    let activated = activation::activate(&text, &code, &SystemClock)?;
    let confirmation = activated.confirmation_code.clone();
    let on_existing = if replace {
        OnExisting::Replace
    } else {
        OnExisting::Refuse
    };
    let id = vault.add_activated(activated, on_existing)?;
    println!("added: {} (id {id})", vault.card(id)?.label());
    println!("confirmation code: {confirmation}");
    println!("type it into internet banking to finish the activation");
    Ok(ExitCode::SUCCESS)
}

// ---- showing PINs ----------------------------------------------------------

fn seconds_left(pin: &PinCode) -> Option<u64> {
    pin.validity().map(|v| v.seconds_remaining())
}

/// One machine-friendly line per PIN.
fn pin_line(name: &str, pin: &PinCode) -> String {
    match seconds_left(pin) {
        Some(left) => format!("{name} {} {} ({left}s)", pin.kind(), pin.digits()),
        None => format!(
            "{name} {} {} (counter {})",
            pin.kind(),
            pin.digits(),
            pin.counter()
        ),
    }
}

fn codes(settings: &Settings, args: Args) -> Res<ExitCode> {
    args.exactly::<0>("codes takes no arguments")?;
    let mut vault = settings.vault()?;
    let names: Vec<(CardId, String)> = vault
        .cards()?
        .iter()
        .map(|c| (c.id(), short_name(c)))
        .collect();
    if names.is_empty() {
        println!("no cards yet: activate one with `phone activate`");
    }
    let mut failed = false;
    for (card, (_, name)) in vault.pins()?.iter().zip(&names) {
        match &card.pins {
            Ok(pins) => pins
                .iter()
                .for_each(|pin| println!("{}", pin_line(name, pin))),
            Err(e) => {
                failed = true;
                println!("{name} error: {e}");
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A countdown bar: full when the PIN is new, empty when it expires.
fn bar(pin: &PinCode, width: usize) -> String {
    let left = pin.validity().map_or(1.0, |v| 1.0 - v.fraction_elapsed());
    let filled = ((left * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// The longest card name `watch` shows, so a card's line fits 80 columns.
const WATCH_NAME_CHARS: usize = 12;

/// A card's name for `watch`: at most [`WATCH_NAME_CHARS`] characters.
fn watch_name(card: &Card) -> String {
    let name = short_name(card);
    if name.chars().count() <= WATCH_NAME_CHARS {
        return name;
    }
    let mut cut: String = name.chars().take(WATCH_NAME_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn watch_line(
    name: &str,
    width: usize,
    pins: &Result<Vec<PinCode>, dynpin::card::CardError>,
) -> String {
    let shown: Vec<String> = match pins {
        Ok(pins) => pins
            .iter()
            .map(|pin| match seconds_left(pin) {
                Some(left) => format!(
                    "{:<6} {:<9} {} {left:>2}s",
                    pin.kind().name(),
                    pin.grouped(),
                    bar(pin, 10)
                ),
                None => format!(
                    "{:<6} {:<9} counter {}",
                    pin.kind().name(),
                    pin.grouped(),
                    pin.counter()
                ),
            })
            .collect(),
        Err(e) => vec![format!("error: {e}")],
    };
    let pad = width.saturating_sub(name.chars().count());
    format!("{name}{} {}", " ".repeat(pad), shown.join("   "))
}

fn watch(settings: &Settings, mut args: Args) -> Res<ExitCode> {
    let seconds = match args.value("--seconds")? {
        Some(n) => match n.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => return usage(format!("--seconds: '{n}' is not a number")),
        },
        None => None,
    };
    args.exactly::<0>("watch takes no arguments besides --seconds N")?;
    let live = io::stdout().is_terminal();
    // Without a terminal (a pipe, a log) nobody presses Ctrl-C: stop after 10 s.
    let seconds = if live { seconds } else { seconds.or(Some(10)) };
    let mut vault = settings.vault()?;
    let names: Vec<String> = vault.cards()?.iter().map(watch_name).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    if names.is_empty() {
        println!("no cards yet: activate one with `phone activate`");
        return Ok(ExitCode::SUCCESS);
    }
    let clock = SystemClock;
    let deadline = seconds.map(|n| {
        clock
            .now_millis()
            .saturating_add(i64::try_from(n.saturating_mul(1000)).unwrap_or(i64::MAX))
    });
    let mut out = io::stdout().lock();
    let mut first = true;
    loop {
        let all = match vault.pins() {
            Ok(all) => all,
            Err(VaultError::Locked) => {
                writeln!(
                    out,
                    "the vault locked itself after its idle time; run `phone watch` again"
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            Err(e) => return Err(e.into()),
        };
        if live && !first {
            // Back to the first line of the previous frame.
            write!(out, "\x1b[{}F", names.len())?;
        }
        for (card, name) in all.iter().zip(&names) {
            let line = watch_line(name, width, &card.pins);
            if live {
                writeln!(out, "\x1b[2K{line}")?;
            } else {
                writeln!(out, "{line}")?;
            }
        }
        out.flush()?;
        first = false;
        let now = clock.now_millis();
        // Wake at the start of the next second, so the countdown ticks evenly,
        // or at the deadline.
        let mut wait = 1000 - now.rem_euclid(1000);
        if let Some(deadline) = deadline {
            if now >= deadline {
                return Ok(ExitCode::SUCCESS);
            }
            wait = wait.min(deadline - now);
        }
        std::thread::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(1000)));
        if deadline.is_some_and(|deadline| clock.now_millis() >= deadline) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

// ---- cards -----------------------------------------------------------------

fn list(settings: &Settings, args: Args) -> Res<ExitCode> {
    args.exactly::<0>("list takes no arguments")?;
    let mut vault = settings.vault()?;
    let cards = vault.cards()?;
    if cards.is_empty() {
        println!("no cards yet: activate one with `phone activate`");
    }
    for card in cards {
        let bank = match (card.bank(), card.as_token()) {
            (Some(bank), _) => format!("{} ({})", bank.name(), bank.persian_name()),
            (None, Some(token)) => format!("token ({})", token.issuer.as_deref().unwrap_or("-")),
            (None, None) => "Unknown bank".to_owned(),
        };
        let last_four = card
            .card_ref()
            .map_or("----".to_owned(), |r| r.last_four.to_string());
        let ceiling = card.amount_ceiling().map_or("none".to_owned(), |c| {
            format!("{} rials", text::group_thousands(c, false))
        });
        println!(
            "{last_four}  {bank}  \"{}\"  ceiling: {ceiling}  id: {}",
            card.label(),
            card.id()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn amount(settings: &Settings, args: Args) -> Res<ExitCode> {
    args.done()?;
    let [selector, amount, payee @ ..] = args.positionals.as_slice() else {
        return usage("amount needs the card, the amount in rials and the payee");
    };
    if payee.is_empty() {
        return usage("amount needs the payee");
    }
    let payee = payee.join(" ");
    let amount = parse_amount(amount)?;
    let mut vault = settings.vault()?;
    let id = find_card(&mut vault, selector)?;
    let card = vault.card(id)?;
    let pin = card.amount_bound_code(amount, &payee, &SystemClock)?;
    println!(
        "{} rials to {payee} with card {}:",
        text::group_thousands(amount, false),
        short_name(card)
    );
    println!("{}", pin_line(&short_name(card), &pin));
    Ok(ExitCode::SUCCESS)
}

fn ceiling(settings: &Settings, args: Args) -> Res<ExitCode> {
    let [selector, rials] = args.exactly::<2>("ceiling needs the card and an amount or none")?;
    let rials = if rials.eq_ignore_ascii_case("none") {
        None
    } else {
        Some(parse_amount(&rials)?)
    };
    let mut vault = settings.vault()?;
    let id = find_card(&mut vault, &selector)?;
    vault.set_amount_ceiling(id, rials)?;
    let name = short_name(vault.card(id)?);
    match rials {
        Some(r) => println!(
            "card {name}: ceiling {} rials",
            text::group_thousands(r, false)
        ),
        None => println!("card {name}: no ceiling"),
    }
    Ok(ExitCode::SUCCESS)
}

fn rename(settings: &Settings, args: Args) -> Res<ExitCode> {
    args.done()?;
    let [selector, label @ ..] = args.positionals.as_slice() else {
        return usage("rename needs the card and the new label");
    };
    if label.is_empty() {
        return usage("rename needs the new label");
    }
    let label = label.join(" ");
    let mut vault = settings.vault()?;
    let id = find_card(&mut vault, selector)?;
    vault.rename_card(id, &label)?;
    println!("renamed: {}", vault.card(id)?.label());
    Ok(ExitCode::SUCCESS)
}

fn remove(settings: &Settings, args: Args) -> Res<ExitCode> {
    let [selector] = args.exactly::<1>("remove needs the card")?;
    let mut vault = settings.vault()?;
    let id = find_card(&mut vault, &selector)?;
    let label = vault.card(id)?.label().to_owned();
    vault.remove_card(id)?;
    println!("removed: {label}");
    Ok(ExitCode::SUCCESS)
}

fn import(settings: &Settings, args: Args) -> Res<ExitCode> {
    let [uri] = args.exactly::<1>("import needs one otpauth:// URI")?;
    let tokens = if uri.to_ascii_lowercase().starts_with("otpauth-migration:") {
        parse_migration(&uri)?
    } else {
        vec![parse_otpauth(&uri)?]
    };
    let mut vault = settings.vault()?;
    for token in tokens {
        let shown = token.to_string();
        let card = token.into_card()?;
        vault.add_card(card, OnExisting::Refuse)?;
        println!("imported: {shown}");
    }
    Ok(ExitCode::SUCCESS)
}

fn run() -> Res<ExitCode> {
    let mut args = Args::new(std::env::args().skip(1), takes_value);
    if args.help() {
        println!("{USAGE}\n\n{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let dir = args.value("--dir")?;
    let password = args.value("--password")?.map(Zeroizing::new);
    let fast_kdf = args.flag("--fast-kdf");
    let command = args.command(&COMMANDS)?;
    let settings = Settings {
        dir: state_dir(dir, "phone")?,
        password,
        fast_kdf,
    };
    match command.as_str() {
        "activate" => activate(&settings, args),
        "list" => list(&settings, args),
        "codes" => codes(&settings, args),
        "watch" => watch(&settings, args),
        "amount" => amount(&settings, args),
        "ceiling" => ceiling(&settings, args),
        "rename" => rename(&settings, args),
        "remove" => remove(&settings, args),
        _ => import(&settings, args),
    }
}

fn main() -> ExitCode {
    cli::finish("phone", USAGE, &COMMANDS, run())
}
