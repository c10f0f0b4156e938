//! The bank's side of dynamic PINs, as a command: issue a card for activation,
//! check the confirmation code, verify dynamic PINs (plain and amount-bound),
//! send Harim-style SMS codes and answer Mellat-style "last four digits" SMS.
//!
//! ```text
//! cargo run --example bank -- issue 6104337123456780 --label Salary --phone 09121234567 --png card.png
//! cargo run --example bank -- confirm 6780 123456
//! cargo run --example bank -- verify 6780 second 12345678
//! cargo run --example bank -- --help
//! ```
//!
//! It talks to the `phone` program only through what a person carries between
//! them: the payload (QR code or text), the activation code, the confirmation
//! code and the PINs. It is the library of `dynpin-bank` driven from the
//! command line: the async [`Verifier`] and [`SmsService`] on the embedded
//! [`SqliteStore`], each command run to completion on a current-thread tokio
//! runtime. State lives in files under `--dir DIR` (default
//! `$XDG_DATA_HOME/dynpin/bank` or `~/.local/share/dynpin/bank`), the names
//! `dynpin-bank` uses for its own directory:
//!
//! - `bank.db` — the [`SqliteStore`] (mode 0600): each card sealed under the
//!   KEK (its parameters, master seed and activation id), its status (pending
//!   until `confirm`, active, suspended), confirmation deadline and attempts,
//!   phone number and last four digits (for `sms-in`), the last accepted step
//!   per PIN and per amount-bound transaction, failure counts, drift, pending
//!   SMS codes (their keyed hashes only) and the append-only audit log. Every
//!   check is one atomic step on it, so single use and throttling hold across
//!   invocations, however many run at once.
//! - `kek.key` — the key encryption key (`kek-1`, 64 hex digits, mode 0600),
//!   drawn on first use. Without it the cards in `bank.db` cannot be opened,
//!   so the program refuses to draw a new one beside an existing `bank.db`. A
//!   real bank keeps its KEK in an HSM or a KMS, not in a file.
//! - `sms.key` — the key SMS codes are hashed under (`sms-1`, likewise).
//! - `cards.tsv` — an index of the issued cards **without secrets** (mode
//!   0600: it holds phone numbers): card id, activation id, BIN, last four
//!   digits, label, phone, validity. The store finds cards by id only, and
//!   the program names them by their last four digits or activation id, and
//!   lists them; the index is what maps those to card ids. A card issued again
//!   (same number) replaces its line, and the earlier card is suspended in
//!   the store. An index from before the store (with `seed=` fields) is refused.
//! - `lock` — present while `issue` updates the index (concurrent runs take
//!   turns; a lock left by a killed process is taken over after 10 s).
//!
//! Exit status: 0 accepted / done, 1 rejected or failed, 2 bad usage.

use std::collections::HashMap;
use std::fs;
use std::future::Future;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::{Args, Res, create_dir, parse_amount, state_dir, usage};
use dynpin::activation::ActivationId;
use dynpin::card::{Bank, CardId, CardNumber, CardRef, LastFour};
use dynpin::clock::SystemClock;
use dynpin::kdf::KdfParams;
use dynpin::pin::PinKind;
use dynpin::secret::fill_random;
use dynpin::text;
use dynpin_bank::keys::{KeyError, KeyFile, read_key_file};
use dynpin_bank::sms::{SmsConfig, SmsKey, SmsService, Transaction};
use dynpin_bank::store::Store;
use dynpin_bank::store::sqlite::SqliteStore;
use dynpin_bank::verifier::{
    CardStatus, OperatorAuthorization, Verifier, VerifierConfig, VerifyError,
};
use dynpin_bank::{CardRequest, Issuer, qr};
use zeroize::Zeroizing;

const USAGE: &str = "\
usage: bank [--dir DIR] issue <CARD-NUMBER> [--label L] [--phone P] [--png FILE] [--validity SECONDS] [--fast-kdf]
       bank [--dir DIR] confirm <CARD> <CONFIRMATION-CODE>
       bank [--dir DIR] verify <CARD> first|second <PIN>
       bank [--dir DIR] verify-amount <CARD> <AMOUNT-RIALS> <PAYEE> <PIN>
       bank [--dir DIR] sms <CARD> <AMOUNT-RIALS> <MERCHANT>
       bank [--dir DIR] sms-in <PHONE> <BODY> [--verify]
       bank [--dir DIR] reset <CARD> [--reason TEXT]
       bank [--dir DIR] list | --help";

const HELP: &str = "\
The bank's side of dynamic PINs (a demonstration of the dynpin-bank library).

Commands:
  issue <CARD-NUMBER>    provision a card: print its QR code, the payload text and the
                         activation code (the \"SMS\"), and enroll it in the bank's store
      --label L          a label suggested to the app
      --phone P          the customer's mobile number (for `sms` and `sms-in`)
      --png FILE         also write the QR code as a PNG image
      --validity SECONDS how long the payload may be activated and confirmed (default 86400)
      --fast-kdf         Argon2id at its minimum (19 MiB, t = 2): for tests only
  confirm <CARD> <CODE>  check the 6-digit confirmation code the app showed; the card's
                         dynamic PIN is accepted only after this
  verify <CARD> first|second <PIN>
                         verify a dynamic PIN: once per step, locked after 10 failures
  verify-amount <CARD> <AMOUNT-RIALS> <PAYEE> <PIN>
                         verify an amount-bound second PIN for this amount and payee
  sms <CARD> <AMOUNT-RIALS> <MERCHANT>
                         send a Harim-style code by \"SMS\" (printed), then read the code
                         the customer types on standard input and check it
  sms-in <PHONE> <BODY>  answer an SMS from PHONE holding a card's last four digits with
                         a 7-digit code; --verify then reads the code from standard input.
                         At most 3 SMS codes per card in 10 minutes (both kinds together)
  list                   the issued cards
  reset <CARD>           unlock a card's dynamic PIN after too many failures, as operator
                         \"cli\" (--reason TEXT for the audit log; default \"bank program\")

CARD is the card's last four digits, its card id (32 hex digits) or its activation id
(16 hex digits). Digits may be typed in ASCII, Persian or Arabic-Indic numerals.

Files (--dir DIR, default $XDG_DATA_HOME/dynpin/bank or ~/.local/share/dynpin/bank):
  bank.db    the store (SQLite, mode 0600): cards sealed under the KEK with their master
             seeds, statuses, last accepted steps, failure counts, drift, pending SMS
             codes (hashed) and the audit log
  kek.key    the key encryption key, drawn on first use (mode 0600); bank.db cannot be
             opened without it. A real bank keeps it in an HSM or a KMS, not in a file.
  sms.key    the key SMS codes are hashed under (mode 0600)
  cards.tsv  an index of the issued cards, without secrets: ids, last four digits,
             labels, phone numbers
  lock       present while `issue` updates cards.tsv (concurrent runs take turns)

Exit status: 0 accepted or done, 1 rejected or failed, 2 bad usage.";

const CARDS_FILE: &str = "cards.tsv";
const STORE_FILE: &str = "bank.db";
const KEK_FILE: &str = "kek.key";
const KEK_ID: &str = "kek-1";
const SMS_KEY_FILE: &str = "sms.key";
const SMS_KEY_ID: &str = "sms-1";
/// The operator this program acts as, in the audit log.
const OPERATOR: &str = "cli";
/// The audit log's reason when `reset` is given none.
const DEFAULT_REASON: &str = "bank program";
/// Pixels per QR module in the PNG.
const PNG_SCALE: usize = 8;

const COMMANDS: [&str; 8] = [
    "issue",
    "confirm",
    "verify",
    "verify-amount",
    "sms",
    "sms-in",
    "list",
    "reset",
];

fn takes_value(option: &str) -> bool {
    matches!(
        option,
        "--dir" | "--label" | "--phone" | "--png" | "--validity" | "--reason"
    )
}

// ---- small helpers ---------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// Digits in any script (at least seven), with spaces, dashes, brackets and a `+`.
fn is_phone_number(typed: &str) -> bool {
    let digits = typed
        .chars()
        .filter(|&c| text::digit_value(c).is_some())
        .count();
    digits >= 7
        && typed
            .chars()
            .all(|c| text::digit_value(c).is_some() || c.is_whitespace() || "+-()".contains(c))
}

fn bank_name(card_ref: CardRef) -> String {
    match card_ref.bank() {
        Some(bank) => format!("{} ({})", bank.name(), bank.persian_name()),
        None => "Unknown bank".to_owned(),
    }
}

/// Options for a new private file: mode 0600 on Unix.
fn private_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Writes `bytes` to `path` through a temporary file (mode 0600 on Unix),
/// synced and renamed into place: a crash leaves the old or the new file.
fn write_private(path: &Path, bytes: &[u8]) -> Res<()> {
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    let temp = path.with_extension("tmp");
    let write = || -> io::Result<()> {
        let mut file = private_options().truncate(true).open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()).into())
}

fn read_optional(path: &Path) -> Res<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display()).into()),
    }
}

/// One line typed on standard input (a prompt on standard error if it is a terminal).
fn read_line(prompt: &str) -> Res<String> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}");
        io::stderr().flush()?;
    }
    let mut line = String::new();
    if stdin.lock().read_line(&mut line)? == 0 {
        return Err("no code was typed (end of input)".into());
    }
    Ok(line.trim().to_owned())
}

/// An exclusive lock on the card index (`DIR/lock`), held by `issue` from
/// reading the index to writing it, so two issues at once cannot lose a card.
/// A lock left by a killed process is taken over after a while. (The store
/// needs no lock: each of its operations is atomic.)
struct IndexLock(PathBuf);

impl IndexLock {
    const WAIT: Duration = Duration::from_secs(3);
    const STALE: Duration = Duration::from_secs(10);

    fn acquire(dir: &Path) -> Res<Self> {
        create_dir(dir)?;
        let path = dir.join("lock");
        let started = Instant::now();
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(Self(path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("cannot lock {}: {e}", path.display()).into()),
            }
            if started.elapsed() >= Self::WAIT {
                let age = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok());
                if age.is_some_and(|age| age >= Self::STALE) {
                    let _ = fs::remove_file(&path);
                    continue;
                }
                return Err(format!(
                    "the bank's files are in use by another process ({} exists)",
                    path.display()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

// ---- the bank's store and keys -----------------------------------------------

/// A key file written by another process right now may be empty for a moment.
fn load_settled<T>(load: impl Fn() -> Result<T, KeyError>) -> Res<T> {
    let mut tries = 0;
    loop {
        match load() {
            Ok(value) => return Ok(value),
            Err(KeyError::KeyFile(_)) if tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Draws the key in `path` unless it exists (or another process draws it first).
fn generate_key(id: &str, path: &Path) -> Res<()> {
    match KeyFile::generate(id, path) {
        Ok(_) => Ok(()),
        Err(_) if path.exists() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The bank's services on its store, for one command: the store, the KEK,
/// the SMS key and the runtime that drives them.
struct BankStore {
    runtime: tokio::runtime::Runtime,
    store: Arc<SqliteStore>,
    kek: Arc<KeyFile>,
    sms_key: Zeroizing<[u8; 32]>,
}

impl BankStore {
    /// Opens the store in `dir`, creating it and drawing the keys on first use.
    fn open(dir: &Path) -> Res<Self> {
        create_dir(dir)?;
        let db = dir.join(STORE_FILE);
        let kek_path = dir.join(KEK_FILE);
        if !kek_path.exists() {
            if db.exists() {
                return Err(format!(
                    "{} is missing: the cards in {} are sealed under it and cannot be opened \
                     without it (issue them again in a new directory)",
                    kek_path.display(),
                    db.display()
                )
                .into());
            }
            generate_key(KEK_ID, &kek_path)?;
        }
        let kek = load_settled(|| KeyFile::load(KEK_ID, &kek_path))?;
        let sms_path = dir.join(SMS_KEY_FILE);
        if !sms_path.exists() {
            generate_key(SMS_KEY_ID, &sms_path)?;
        }
        let sms_key = load_settled(|| read_key_file(&sms_path))?;
        // SQLite creates its -wal and -shm files with the database's mode.
        private_options()
            .open(&db)
            .map_err(|e| format!("cannot create {}: {e}", db.display()))?;
        let store = SqliteStore::open(&db)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            runtime,
            store: Arc::new(store),
            kek: Arc::new(kek),
            sms_key,
        })
    }

    /// Runs `future` to completion.
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn verifier(&self, config: VerifierConfig) -> Res<Verifier<SqliteStore>> {
        Ok(Verifier::new(
            config,
            Arc::clone(&self.store),
            Arc::clone(&self.kek) as _,
        )?)
    }

    fn sms(&self) -> Res<SmsService<SqliteStore>> {
        let key = SmsKey::new(SMS_KEY_ID, &self.sms_key[..])?;
        Ok(SmsService::new(
            SmsConfig::default(),
            key,
            Arc::clone(&self.store),
        )?)
    }
}

// ---- the card index ------------------------------------------------------------

/// A card as the index names it. Its seed and parameters are in the store only.
struct IndexedCard {
    id: CardId,
    activation: ActivationId,
    card_ref: CardRef,
    label: Option<String>,
    /// As typed at `issue` (spaces removed); the store keeps it normalised.
    phone: Option<String>,
    issued_at: u64,
    expires_at: u64,
}

impl IndexedCard {
    fn to_line(&self) -> String {
        let mut fields = vec![
            "card".to_owned(),
            format!("id={}", self.id),
            format!("activation={}", self.activation),
            format!("bin={}", self.card_ref.bin()),
            format!("last4={}", self.card_ref.last_four()),
            format!("issued={}", self.issued_at),
            format!("expires={}", self.expires_at),
        ];
        if let Some(phone) = &self.phone {
            fields.push(format!("phone={phone}"));
        }
        // Labels cannot hold tabs or line breaks: the card rules refuse control characters.
        if let Some(label) = &self.label {
            fields.push(format!("label={label}"));
        }
        let mut line = fields.join("\t");
        line.push('\n');
        line
    }

    fn from_line(line: &str) -> Option<Self> {
        let mut fields = line.split('\t');
        if fields.next()? != "card" {
            return None;
        }
        let map: HashMap<&str, &str> = fields.filter_map(|f| f.split_once('=')).collect();
        let get = |key: &str| map.get(key).copied();
        let activation: [u8; 8] = unhex(get("activation")?)?.try_into().ok()?;
        Some(Self {
            id: CardId::parse(get("id")?)?,
            activation: ActivationId(activation),
            card_ref: CardRef::new(
                get("bin")?.parse().ok()?,
                LastFour::parse(get("last4")?).ok()?,
            )
            .ok()?,
            label: get("label").map(str::to_owned),
            phone: get("phone").map(str::to_owned),
            issued_at: get("issued")?.parse().ok()?,
            expires_at: get("expires")?.parse().ok()?,
        })
    }
}

fn load_index(dir: &Path) -> Res<Vec<IndexedCard>> {
    let path = dir.join(CARDS_FILE);
    let Some(text) = read_optional(&path)? else {
        return Ok(Vec::new());
    };
    // The file of the program before the store kept every seed in hex.
    let text = Zeroizing::new(text);
    if text
        .lines()
        .any(|l| l.split('\t').any(|f| f.starts_with("seed=")))
    {
        return Err(format!(
            "{} is from an earlier version of this program (it holds master seeds, and \
             verifier.tsv its state); issue the cards again in a new directory, then delete it",
            path.display()
        )
        .into());
    }
    let mut cards = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let card = IndexedCard::from_line(line)
            .ok_or_else(|| format!("{} line {}: not a card record", path.display(), number + 1))?;
        cards.push(card);
    }
    Ok(cards)
}

fn save_index(dir: &Path, cards: &[IndexedCard]) -> Res<()> {
    let mut out = String::from(
        "# dynpin bank program: the issued cards, one per line (no secrets: the cards'\n\
         # seeds are sealed in bank.db). Maps last four digits and activation ids to card ids.\n",
    );
    for card in cards {
        out.push_str(&card.to_line());
    }
    write_private(&dir.join(CARDS_FILE), out.as_bytes())
}

/// The card `selector` names: last four digits, card id or activation id.
fn find_card<'a>(cards: &'a [IndexedCard], selector: &str) -> Res<&'a IndexedCard> {
    let by_id = CardId::parse(&selector.to_ascii_lowercase());
    let by_activation = unhex(&selector.to_ascii_lowercase())
        .filter(|b| b.len() == 8)
        .map(|b| hex(&b));
    let by_last_four = text::parse_code(selector, 4)
        .ok()
        .and_then(|d| LastFour::parse(&d).ok());
    if by_id.is_none() && by_activation.is_none() && by_last_four.is_none() {
        return usage(format!(
            "'{selector}' is not a card's last four digits, card id or activation id"
        ));
    }
    let matching: Vec<&IndexedCard> = cards
        .iter()
        .filter(|c| {
            Some(c.id) == by_id
                || by_activation.as_deref() == Some(c.activation.to_string().as_str())
                || Some(c.card_ref.last_four()) == by_last_four
        })
        .collect();
    match matching.as_slice() {
        [] => Err(format!("no issued card matches '{selector}'").into()),
        [one] => Ok(one),
        several => {
            let ids: Vec<String> = several.iter().map(|c| c.id.to_string()).collect();
            Err(format!(
                "several cards match '{selector}'; use a card id: {}",
                ids.join(", ")
            )
            .into())
        }
    }
}

/// The card `selector` names and the opened store.
fn open_card(dir: &Path, selector: &str) -> Res<(IndexedCard, BankStore)> {
    let mut cards = load_index(dir)?;
    let id = find_card(&cards, selector)?.id;
    let at = cards
        .iter()
        .position(|c| c.id == id)
        .ok_or("no such card")?;
    let card = cards.swap_remove(at);
    Ok((card, BankStore::open(dir)?))
}

/// Prints the outcome of a check; exit 0 when accepted, 1 otherwise. A card
/// not confirmed yet says how to confirm it.
fn report<T>(card: &IndexedCard, result: Result<T, VerifyError>) -> ExitCode {
    match result {
        Ok(_) => {
            println!("accepted");
            ExitCode::SUCCESS
        }
        Err(VerifyError::NotConfirmed) => {
            let last_four = card.card_ref.last_four();
            println!(
                "rejected: the activation of card {last_four} is not confirmed yet (bank confirm {last_four} <CODE>)"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            println!("rejected: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---- commands ---------------------------------------------------------------

fn issue(dir: &Path, fast_kdf: bool, mut args: Args) -> Res<ExitCode> {
    let label = args.value("--label")?;
    let phone = args.value("--phone")?;
    let png = args.value("--png")?;
    let validity = args.value("--validity")?;
    args.done()?;
    if args.positionals.is_empty() {
        return usage("issue needs the card number");
    }
    // A card number is often typed in groups: `6104 3371 2345 6780` or four arguments.
    let number = match CardNumber::parse(&args.positionals.concat()) {
        Ok(number) => number,
        Err(e) => return usage(e.to_string()),
    };
    let phone = match phone {
        Some(p) if is_phone_number(&p) => Some(p.split_whitespace().collect::<String>()),
        Some(p) => return usage(format!("'{p}' is not a phone number")),
        None => None,
    };

    let mut issuer = Issuer::new();
    if fast_kdf {
        issuer = issuer.with_kdf(KdfParams::MINIMUM)?;
    }
    if let Some(seconds) = validity {
        let Ok(seconds) = seconds.parse() else {
            return usage(format!(
                "--validity: '{seconds}' is not a number of seconds"
            ));
        };
        issuer = issuer.with_validity(seconds)?;
    }
    let card_ref = CardRef::of(&number);
    let mut request = CardRequest::new(card_ref);
    request.label = label.clone();
    let issued = issuer.provision(&request, &SystemClock)?;
    issued.card()?; // the label and policies pass the card rules
    let (issued_at, expires_at) = issued.validity();

    let _lock = IndexLock::acquire(dir)?;
    let mut cards = load_index(dir)?;
    let bank = BankStore::open(dir)?;
    // The activation may be confirmed while its payload is valid.
    let verifier = bank.verifier(VerifierConfig {
        confirmation_seconds: expires_at.saturating_sub(issued_at).clamp(60, 30 * 86_400),
        ..VerifierConfig::default()
    })?;
    let id = bank.block_on(verifier.enroll(&issued, phone.as_deref()))?;
    let (replaced, mut kept): (Vec<IndexedCard>, Vec<IndexedCard>) =
        cards.drain(..).partition(|c| c.card_ref == card_ref);
    if !replaced.is_empty() {
        eprintln!(
            "note: this replaces the earlier activation of card {}",
            card_ref.last_four()
        );
        let authorization = OperatorAuthorization::new(OPERATOR, "replaced by a new issue")?;
        for old in &replaced {
            match bank.block_on(verifier.operator_suspend(&authorization, old.id)) {
                Ok(()) | Err(VerifyError::UnknownCard) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let activation_id = issued.activation_id();
    kept.push(IndexedCard {
        id,
        activation: activation_id,
        card_ref,
        label,
        phone: phone.clone(),
        issued_at,
        expires_at,
    });
    save_index(dir, &kept)?;
    if let Some(path) = &png {
        fs::write(path, qr::to_png(issued.payload(), PNG_SCALE)?)
            .map_err(|e| format!("cannot write {path}: {e}"))?;
    }

    println!(
        "{} card **** {} — activation {}",
        bank_name(card_ref),
        card_ref.last_four(),
        activation_id
    );
    println!("{}", qr::to_terminal(issued.payload())?);
    println!("payload: {}", issued.payload());
    println!(
        "activation code: {}",
        issued.activation_code().grouped().as_str()
    );
    if let Some(phone) = &phone {
        println!(
            "SMS to {phone}: کد فعال‌سازی رمز پویا: {} / dynamic PIN activation code: {}",
            issued.activation_code().persian().as_str(),
            issued.activation_code().grouped().as_str()
        );
    }
    if let Some(path) = &png {
        println!("QR code image: {path}");
    }
    println!("card id: {id}");
    println!(
        "valid for {} s; once activated, check the app's code with: bank confirm {} <CODE>",
        expires_at.saturating_sub(issued_at),
        card_ref.last_four()
    );
    Ok(ExitCode::SUCCESS)
}

fn confirm(dir: &Path, args: Args) -> Res<ExitCode> {
    args.done()?;
    let [selector, code] = args.positionals.as_slice() else {
        return usage("confirm needs the card and the confirmation code");
    };
    let (card, bank) = open_card(dir, selector)?;
    // Once, before the deadline set at issue, 5 attempts; a second
    // confirmation suspends the card as a possible clone.
    let verifier = bank.verifier(VerifierConfig::default())?;
    match bank.block_on(verifier.confirm(card.id, code, &SystemClock)) {
        Ok(()) => {
            println!("confirmed: the card's dynamic PIN is active");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("rejected: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn verify(dir: &Path, args: Args) -> Res<ExitCode> {
    args.done()?;
    let [selector, kind, pin] = args.positionals.as_slice() else {
        return usage("verify needs the card, first or second, and the PIN");
    };
    let kind = match kind.as_str() {
        "first" => PinKind::First,
        "second" => PinKind::Second,
        other => return usage(format!("'{other}': expected first or second")),
    };
    let (card, bank) = open_card(dir, selector)?;
    let verifier = bank.verifier(VerifierConfig::default())?;
    let result = bank.block_on(verifier.verify(card.id, kind, pin, &SystemClock));
    Ok(report(&card, result))
}

fn verify_amount(dir: &Path, args: Args) -> Res<ExitCode> {
    args.done()?;
    let [selector, amount, payee, pin] = args.positionals.as_slice() else {
        return usage("verify-amount needs the card, the amount in rials, the payee and the PIN");
    };
    let amount = parse_amount(amount)?;
    let (card, bank) = open_card(dir, selector)?;
    let verifier = bank.verifier(VerifierConfig::default())?;
    let result =
        bank.block_on(verifier.verify_amount_bound(card.id, pin, amount, payee, &SystemClock));
    Ok(report(&card, result))
}

fn reset(dir: &Path, mut args: Args) -> Res<ExitCode> {
    let reason = args.value("--reason")?;
    args.done()?;
    let [selector] = args.positionals.as_slice() else {
        return usage("reset needs the card");
    };
    let authorization =
        match OperatorAuthorization::new(OPERATOR, reason.as_deref().unwrap_or(DEFAULT_REASON)) {
            Ok(authorization) => authorization,
            Err(_) => return usage("--reason: 1 to 128 printable bytes"),
        };
    let (card, bank) = open_card(dir, selector)?;
    let verifier = bank.verifier(VerifierConfig::default())?;
    bank.block_on(verifier.operator_reset(&authorization, card.id))?;
    println!("card {}: dynamic PIN unlocked", card.card_ref.last_four());
    Ok(ExitCode::SUCCESS)
}

fn list(dir: &Path, args: Args) -> Res<ExitCode> {
    args.done()?;
    if !args.positionals.is_empty() {
        return usage("list takes no arguments");
    }
    let cards = load_index(dir)?;
    if cards.is_empty() {
        println!("no cards issued yet");
        return Ok(ExitCode::SUCCESS);
    }
    let bank = BankStore::open(dir)?;
    for card in &cards {
        let status = match bank.block_on(bank.store.state(card.id))? {
            Some(state) => match state.status {
                CardStatus::Pending => "unconfirmed",
                CardStatus::Active => "confirmed",
                CardStatus::Suspended => "suspended",
            },
            None => "missing from bank.db",
        };
        println!(
            "{}  {:<12} id {}  activation {}  {}  phone {}  label {}",
            card.card_ref.last_four(),
            card.card_ref.bank().map_or("Unknown bank", Bank::name),
            card.id,
            card.activation,
            status,
            card.phone.as_deref().unwrap_or("-"),
            card.label.as_deref().unwrap_or("-"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn random_transaction_id() -> Res<String> {
    let mut bytes = [0u8; 6];
    fill_random(&mut bytes)?;
    Ok(format!("TX-{}", hex(&bytes)))
}

fn sms(dir: &Path, args: Args) -> Res<ExitCode> {
    args.done()?;
    let [selector, amount, merchant] = args.positionals.as_slice() else {
        return usage("sms needs the card, the amount in rials and the merchant");
    };
    let amount = parse_amount(amount)?;
    let (card, bank) = open_card(dir, selector)?;
    // The code's hash waits in the store: 120 s, 3 attempts, 3 codes per card in 10 minutes.
    let service = bank.sms()?;
    let tx = Transaction {
        id: random_transaction_id()?,
        amount_rials: amount,
        merchant: merchant.clone(),
    };
    let sent = bank.block_on(service.request(card.id, &tx))?;
    println!(
        "SMS to {} (transaction {}):",
        card.phone
            .as_deref()
            .unwrap_or("the card's registered number"),
        tx.id
    );
    println!("{}", sent.text_fa);
    println!("{}", sent.text_en);
    let typed = read_line("type the code from the SMS: ")?;
    match bank.block_on(service.verify(card.id, &tx, &typed)) {
        Ok(()) => {
            println!("accepted");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("rejected: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn sms_in(dir: &Path, mut args: Args) -> Res<ExitCode> {
    let check = args.flag("--verify");
    args.done()?;
    let Some((phone, body)) = args.positionals.split_first() else {
        return usage("sms-in needs the sender's phone number and the message body");
    };
    if body.is_empty() {
        return usage("sms-in needs the message body");
    }
    let body = body.join(" ");
    // The store finds the card by the phone it was enrolled with and its last four digits.
    let bank = BankStore::open(dir)?;
    let service = bank.sms()?;
    let reply = bank.block_on(service.answer_sms(phone, &body))?;
    println!("reply to {phone}:");
    println!("{}", reply.text_fa);
    println!("{}", reply.text_en);
    let Some(card) = reply.issued else {
        return Ok(ExitCode::FAILURE);
    };
    if !check {
        return Ok(ExitCode::SUCCESS);
    }
    let typed = read_line("type the code from the SMS: ")?;
    match bank.block_on(service.verify_card_code(card, &typed)) {
        Ok(()) => {
            println!("accepted");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("rejected: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn run() -> Res<ExitCode> {
    let mut args = Args::new(std::env::args().skip(1), takes_value);
    if args.help() {
        println!("{USAGE}\n\n{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let dir = args.value("--dir")?;
    // Accepted with every command, so a script can pass it throughout.
    let fast_kdf = args.flag("--fast-kdf");
    let command = args.command(&COMMANDS)?;
    let dir = state_dir(dir, "bank")?;
    match command.as_str() {
        "issue" => issue(&dir, fast_kdf, args),
        "confirm" => confirm(&dir, args),
        "verify" => verify(&dir, args),
        "verify-amount" => verify_amount(&dir, args),
        "sms" => sms(&dir, args),
        "sms-in" => sms_in(&dir, args),
        "list" => list(&dir, args),
        _ => reset(&dir, args),
    }
}

/// Runs the program on the process's arguments; the exit status to return.
pub fn main() -> ExitCode {
    crate::args::finish("bank", USAGE, &COMMANDS, run())
}
