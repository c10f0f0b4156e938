//! The phone's side of dynamic PINs, as a command: activate cards from the
//! bank's QR code (a PNG image) or payload text, keep them in the encrypted
//! card vault, and show their PINs — once, or live with a countdown. It is
//! built on the `Authenticator` of `dynpin-ffi`, the API Kotlin and Swift
//! apps call, so it exercises the mobile edge end to end.
//!
//! ```text
//! cargo run --example phone -- activate --png card.png 1234 5678 9012 3456
//! DYNPIN_TOKEN=app.… cargo run --example phone -- activate --fetch http://127.0.0.1:8080 --handle 1234-5678-9012 1234 5678 9012 3456
//! cargo run --example phone -- watch
//! cargo run --example phone -- amount 6780 5000000 Digikala
//! cargo run --example phone -- --help
//! ```
//!
//! It talks to the `bank` program only through what a person carries between
//! them: the payload, the activation code, the confirmation code and the PINs.
//! The cards live in the authenticator's vault (`vault.bin`) under `--dir DIR`
//! (default `$XDG_DATA_HOME/dynpin/phone` or `~/.local/share/dynpin/phone`),
//! encrypted under the app password: `--password P`, else the environment
//! variable `DYNPIN_PASSWORD`, else a prompt. The first use creates the vault.
//!
//! A card provisioned at an ATM (the bank service's `"channel": "atm"`) comes
//! as a receipt with a 12-digit handle and the activation code: `activate
//! --fetch URL --handle H` asks the bank service for the still-sealed payload
//! (`POST URL/v1/activations/fetch`, with the app's credential `<client
//! id>.<secret>` of scope `app` as a bearer token) and activates it offline
//! with the code, as from a QR code. The credential comes from `--token-file
//! FILE` or the environment variable `DYNPIN_TOKEN`, never from the command
//! line, where `ps` would show it. Plain HTTP only (a trusted network, or a
//! TLS-terminating proxy on the loopback): the payload is useless without the
//! activation code, but the credential is not.
//!
//! Exit status: 0 done, 1 failed or refused, 2 bad usage.

use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use dynpin::activation::{self, ActivationCode};
use dynpin::clock::{Clock, SystemClock};
use dynpin::import;
use dynpin::kdf::KdfParams;
use dynpin::text;
use dynpin_ffi::{
    Authenticator, CardCodes, CardInfo, DynpinError, PinInfo, VaultSettings, vault_exists,
};
use zeroize::Zeroizing;

use crate::args::{Args, Res, create_dir, parse_amount, state_dir, usage};

mod fetch;

const USAGE: &str = "\
usage: phone [--dir DIR] [--password P] [--fast-kdf] <command>
       phone activate <PAYLOAD-TEXT | --png FILE> <ACTIVATION-CODE> [--replace]
       phone activate --fetch URL --handle H [--token-file F] <ACTIVATION-CODE> [--replace]
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
  activate --fetch URL --handle H <CODE>
                                   ... or from the bank service at URL (http://host:port),
                                   by the handle printed on the ATM receipt; the app's
                                   credential (<client id>.<secret>, scope app) is read
                                   from --token-file FILE or $DYNPIN_TOKEN
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
    matches!(
        option,
        "--dir" | "--password" | "--png" | "--seconds" | "--fetch" | "--handle" | "--token-file"
    )
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

    /// The authenticator, unlocked; its vault is created on first use.
    fn authenticator(&self) -> Res<Arc<Authenticator>> {
        let dir = self.dir.to_string_lossy().into_owned();
        if vault_exists(dir.clone())? {
            let auth = Authenticator::open(dir, None)?;
            let password = self.password(false)?.to_string();
            match pollster::block_on(Arc::clone(&auth).unlock_with_password(password)) {
                Ok(()) => Ok(auth),
                Err(DynpinError::WrongPassword {
                    remaining_attempts,
                    wait_seconds,
                }) if wait_seconds > 0 => Err(format!(
                    "wrong password; {remaining_attempts} attempts left, the next one in {wait_seconds} s"
                )
                .into()),
                Err(DynpinError::TryLater {
                    wait_seconds,
                    remaining_attempts,
                }) => Err(format!(
                    "too many wrong passwords; try again in {wait_seconds} s ({remaining_attempts} attempts left)"
                )
                .into()),
                Err(e) => Err(e.into()),
            }
        } else {
            create_dir(&self.dir)?;
            let mut settings = VaultSettings::default();
            if self.fast_kdf {
                settings.kdf_memory_kib = KdfParams::MINIMUM.memory_kib;
                settings.kdf_iterations = KdfParams::MINIMUM.iterations;
            }
            let password = self.password(true)?.to_string();
            let auth = pollster::block_on(Authenticator::create_with_settings(
                dir, password, settings, None,
            ))?;
            eprintln!("created a new card vault in {}", self.dir.display());
            Ok(auth)
        }
    }
}

/// How a card is named in machine-friendly lines: its last four digits, or
/// the label of a plain token.
fn short_name(card: &CardInfo) -> String {
    card.last_four.clone().unwrap_or_else(|| card.label.clone())
}

/// The card `selector` names: its id, its last four digits, or its label.
fn find_card(auth: &Authenticator, selector: &str) -> Res<CardInfo> {
    let cards = auth.cards()?;
    let id = selector.to_ascii_lowercase();
    if let Some(card) = cards.iter().find(|c| c.id == id) {
        return Ok(card.clone());
    }
    let last_four = text::parse_code(selector, 4).ok().map(|d| d.to_string());
    let by_digits: Vec<&CardInfo> = cards
        .iter()
        .filter(|c| last_four.is_some() && c.last_four == last_four)
        .collect();
    // Then the label: exactly, ignoring case, or the start of one label.
    let lower = selector.to_lowercase();
    let label_rules: [&dyn Fn(&CardInfo) -> bool; 3] = [
        &|c| c.label == selector,
        &|c| c.label.to_lowercase() == lower,
        &|c| c.label.to_lowercase().starts_with(&lower),
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
        [one] => Ok((*one).clone()),
        several => {
            let ids: Vec<&str> = several.iter().map(|c| c.id.as_str()).collect();
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

fn describe_duration(seconds: i64) -> String {
    match seconds {
        ..=119 => format!("{seconds} s"),
        120..=7199 => format!("{} min", seconds / 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

fn activate(settings: &Settings, mut args: Args) -> Res<ExitCode> {
    let png = args.value("--png")?;
    let fetch = args.value("--fetch")?;
    let handle = args.value("--handle")?;
    let token_file = args.value("--token-file")?;
    let replace = args.flag("--replace");
    args.done()?;
    if fetch.is_none() && (handle.is_some() || token_file.is_some()) {
        return usage("--handle and --token-file go with --fetch URL");
    }
    enum Source {
        Png(String),
        Text(String),
        Fetch(fetch::Request),
    }
    let (source, code) = match (png, fetch) {
        (Some(_), Some(_)) => return usage("activate takes --png FILE or --fetch URL, not both"),
        (Some(path), None) => (Source::Png(path), args.positionals.join(" ")),
        (None, Some(url)) => {
            let Some(handle) = handle else {
                return usage("--fetch needs the handle from the ATM receipt: --handle H");
            };
            let request = fetch::Request::new(&url, &handle, token_file.as_deref())?;
            (Source::Fetch(request), args.positionals.join(" "))
        }
        (None, None) => match args.positionals.split_first() {
            Some((payload, code)) => (Source::Text(payload.clone()), code.join(" ")),
            None => return usage("activate needs the payload (or --png FILE) and the code"),
        },
    };
    if code.trim().is_empty() {
        return usage("activate needs the activation code (from the SMS or the ATM receipt)");
    }
    // The same check the authenticator makes, first, so a mistyped code is a
    // usage error (and costs none of the handle's few fetches).
    if let Err(e) = ActivationCode::parse(&code) {
        return usage(format!("the activation code is not valid: {e}"));
    }
    let text = match source {
        Source::Png(path) => decode_png(&path)?,
        Source::Text(text) => text,
        Source::Fetch(request) => {
            let payload = request.payload()?;
            eprintln!("fetched the activation from {}", request.url());
            payload
        }
    };

    // The payload is read before the vault is opened: a bad one is reported
    // without asking for the password or counting an attempt.
    dynpin::activation::inspect(&text)?;
    let auth = settings.authenticator()?;
    let info = auth.inspect_activation(text.clone())?;
    let now = SystemClock.now_millis() / 1000;
    let bank = info
        .bank_name_fa
        .as_ref()
        .map_or(String::new(), |fa| format!(" ({fa})"));
    println!(
        "card: {}{bank} **** {}",
        info.bank_name.as_deref().unwrap_or("Unknown bank"),
        info.last_four
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
    let result = match pollster::block_on(Arc::clone(&auth).activate(text, code, replace)) {
        Err(DynpinError::CardAlreadyPresent { .. }) => {
            return Err(format!(
                "card **** {} is already in the app (use --replace to activate it again)",
                info.last_four
            )
            .into());
        }
        other => other?,
    };
    println!("added: {} (id {})", result.card.label, result.card.id);
    println!("confirmation code: {}", result.confirmation_code);
    println!("type it into internet banking to finish the activation");
    Ok(ExitCode::SUCCESS)
}

// ---- showing PINs ----------------------------------------------------------

/// One machine-friendly line per PIN.
fn pin_line(name: &str, pin: &PinInfo) -> String {
    let kind = kind_name(pin);
    match pin.seconds_remaining {
        Some(left) => format!("{name} {kind} {} ({left}s)", pin.digits),
        None => format!("{name} {kind} {} (counter {})", pin.digits, pin.counter),
    }
}

/// The stable lower-case name of a PIN's kind: `first`, `second`, `token`, `amount-bound`.
fn kind_name(pin: &PinInfo) -> &'static str {
    dynpin::pin::PinKind::from(pin.kind).name()
}

/// Every card with its refreshed codes, in display order.
fn cards_and_codes(auth: &Authenticator) -> Res<Vec<(CardInfo, CardCodes)>> {
    let cards = auth.cards()?;
    let codes = auth.codes()?;
    Ok(cards.into_iter().zip(codes).collect())
}

fn codes(settings: &Settings, args: Args) -> Res<ExitCode> {
    args.exactly::<0>("codes takes no arguments")?;
    let auth = settings.authenticator()?;
    let all = cards_and_codes(&auth)?;
    if all.is_empty() {
        println!("no cards yet: activate one with `phone activate`");
    }
    let mut failed = false;
    for (card, codes) in &all {
        let name = short_name(card);
        match &codes.error {
            None => codes
                .pins
                .iter()
                .for_each(|pin| println!("{}", pin_line(&name, pin))),
            Some(error) => {
                failed = true;
                println!("{name} error: {error}");
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
fn bar(pin: &PinInfo, width: usize) -> String {
    let left = pin.fraction_elapsed.map_or(1.0, |f| 1.0 - f);
    let filled = ((left * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// The longest card name `watch` shows, so a card's line fits 80 columns.
const WATCH_NAME_CHARS: usize = 12;

/// A card's name for `watch`: at most [`WATCH_NAME_CHARS`] characters.
fn watch_name(card: &CardInfo) -> String {
    let name = short_name(card);
    if name.chars().count() <= WATCH_NAME_CHARS {
        return name;
    }
    let mut cut: String = name.chars().take(WATCH_NAME_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn watch_line(name: &str, width: usize, codes: &CardCodes) -> String {
    let shown: Vec<String> = match &codes.error {
        None => codes
            .pins
            .iter()
            .map(|pin| match pin.seconds_remaining {
                Some(left) => format!(
                    "{:<6} {:<9} {} {left:>2}s",
                    kind_name(pin),
                    pin.grouped,
                    bar(pin, 10)
                ),
                None => format!(
                    "{:<6} {:<9} counter {}",
                    kind_name(pin),
                    pin.grouped,
                    pin.counter
                ),
            })
            .collect(),
        Some(error) => vec![format!("error: {error}")],
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
    let auth = settings.authenticator()?;
    let names: Vec<String> = auth.cards()?.iter().map(watch_name).collect();
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
        let all = match auth.codes() {
            Ok(all) => all,
            Err(DynpinError::VaultLocked) => {
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
        for (codes, name) in all.iter().zip(&names) {
            let line = watch_line(name, width, codes);
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
    let auth = settings.authenticator()?;
    let cards = auth.cards()?;
    if cards.is_empty() {
        println!("no cards yet: activate one with `phone activate`");
    }
    for card in &cards {
        let bank = match (&card.bank_name, &card.bank_name_fa, &card.account) {
            (Some(name), Some(fa), _) => format!("{name} ({fa})"),
            (_, _, Some(_)) => format!("token ({})", card.issuer.as_deref().unwrap_or("-")),
            _ => "Unknown bank".to_owned(),
        };
        let last_four = card.last_four.as_deref().unwrap_or("----");
        let ceiling = card.amount_ceiling.map_or("none".to_owned(), |c| {
            format!("{} rials", text::group_thousands(c, false))
        });
        println!(
            "{last_four}  {bank}  \"{}\"  ceiling: {ceiling}  id: {}",
            card.label, card.id
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
    let auth = settings.authenticator()?;
    let card = find_card(&auth, selector)?;
    let pin = auth.amount_bound_code(card.id.clone(), amount, payee.clone())?;
    println!(
        "{} rials to {payee} with card {}:",
        text::group_thousands(amount, false),
        short_name(&card)
    );
    println!("{}", pin_line(&short_name(&card), &pin));
    Ok(ExitCode::SUCCESS)
}

fn ceiling(settings: &Settings, args: Args) -> Res<ExitCode> {
    let [selector, rials] = args.exactly::<2>("ceiling needs the card and an amount or none")?;
    let rials = if rials.eq_ignore_ascii_case("none") {
        None
    } else {
        Some(parse_amount(&rials)?)
    };
    let auth = settings.authenticator()?;
    let card = find_card(&auth, &selector)?;
    auth.set_amount_ceiling(card.id.clone(), rials)?;
    let name = short_name(&card);
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
    let auth = settings.authenticator()?;
    let card = find_card(&auth, selector)?;
    auth.rename_card(card.id.clone(), label)?;
    let renamed = find_card(&auth, &card.id)?;
    println!("renamed: {}", renamed.label);
    Ok(ExitCode::SUCCESS)
}

fn remove(settings: &Settings, args: Args) -> Res<ExitCode> {
    let [selector] = args.exactly::<1>("remove needs the card")?;
    let auth = settings.authenticator()?;
    let card = find_card(&auth, &selector)?;
    auth.remove_card(card.id)?;
    println!("removed: {}", card.label);
    Ok(ExitCode::SUCCESS)
}

fn import(settings: &Settings, args: Args) -> Res<ExitCode> {
    let [uri] = args.exactly::<1>("import needs one otpauth:// URI")?;
    let migration = uri.to_ascii_lowercase().starts_with("otpauth-migration:");
    // What is imported, described by the core's parser (`label: TOTP, SHA1,
    // 6 digits, 30 s`); the authenticator parses the URI again to import it.
    let described: Vec<String> = if migration {
        import::parse_migration(&uri)?
            .iter()
            .map(ToString::to_string)
            .collect()
    } else {
        vec![import::parse_otpauth(&uri)?.to_string()]
    };
    let auth = settings.authenticator()?;
    if migration {
        auth.import_google_export(uri)?;
    } else {
        auth.import_otpauth(uri)?;
    }
    for shown in described {
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

/// The message of a failure: for an error of the mobile API, what went wrong
/// without the category its `Display` puts first (the program says it once).
fn plain(error: Box<dyn std::error::Error>) -> Box<dyn std::error::Error> {
    let Some(e) = error.downcast_ref::<DynpinError>() else {
        return error;
    };
    match e {
        DynpinError::InvalidInput { reason, .. }
        | DynpinError::InvalidPayload { reason, .. }
        | DynpinError::KdfParametersRejected { reason, .. }
        | DynpinError::InvalidToken { reason }
        | DynpinError::VaultCorrupt { reason }
        | DynpinError::WeakPassword { reason, .. }
        | DynpinError::InvalidBackup { reason, .. }
        | DynpinError::Storage { reason, .. } => reason.clone().into(),
        _ => error,
    }
}

/// Runs the program on the process's arguments; the exit status to return.
pub fn main() -> ExitCode {
    crate::args::finish("phone", USAGE, &COMMANDS, run().map_err(plain))
}
