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
//! code and the PINs. State lives in files under `--dir DIR` (default
//! `$XDG_DATA_HOME/dynpin/bank` or `~/.local/share/dynpin/bank`):
//!
//! - `cards.tsv` — every issued card **with its master seed in hex**. This is a
//!   demonstration only: a real bank keeps seeds in an HSM or a key store and
//!   never writes them to a plain file. The file is written with mode 0600.
//! - `verifier.tsv` — the verifier's state (last accepted step per card and
//!   PIN and per amount-bound transaction, consecutive failures, drift), kept by [`FileStore`], a small
//!   implementation of [`VerifierStore`] that shows how a bank plugs its own
//!   storage into the verifier. It is loaded at start and saved after each
//!   check, so single use and throttling hold across invocations; concurrent
//!   invocations take turns through a lock file (`lock`). A fleet of servers
//!   shares an atomic store instead, see `docs/verifier.md`.
//!
//! Exit status: 0 accepted / done, 1 rejected or failed, 2 bad usage.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::args::{Args, Res, create_dir, parse_amount, state_dir, usage};
use dynpin::activation::ActivationId;
use dynpin::card::{Bank, Card, CardId, CardNumber, CardRef, LastFour, PinPolicy};
use dynpin::clock::SystemClock;
use dynpin::kdf::KdfParams;
use dynpin::otp::Algorithm;
use dynpin::pin::PinKind;
use dynpin::secret::{SecretBytes, fill_random};
use dynpin::text;
use dynpin_bank::sms::{SmsConfig, SmsService, Transaction};
use dynpin_bank::verifier::{
    CardStatus, SlotKey, TRANSACTION_HORIZON_STEPS, TransactionKey, Verifier, VerifierConfig,
    VerifierStore, VerifyError,
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
       bank [--dir DIR] list | reset <CARD> | --help";

const HELP: &str = "\
The bank's side of dynamic PINs (a demonstration of the dynpin issuer API).

Commands:
  issue <CARD-NUMBER>    provision a card: print its QR code, the payload text and the
                         activation code (the \"SMS\"), save it in the bank's files
      --label L          a label suggested to the app
      --phone P          the customer's mobile number (for `sms` and `sms-in`)
      --png FILE         also write the QR code as a PNG image
      --validity SECONDS how long the payload may be activated (default 86400)
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
                         a 7-digit code; --verify then reads the code from standard input
  list                   the issued cards
  reset <CARD>           unlock a card's dynamic PIN after too many failures

CARD is the card's last four digits, its card id (32 hex digits) or its activation id
(16 hex digits). Digits may be typed in ASCII, Persian or Arabic-Indic numerals.

Files (--dir DIR, default $XDG_DATA_HOME/dynpin/bank or ~/.local/share/dynpin/bank):
  cards.tsv     issued cards WITH THEIR MASTER SEEDS IN HEX (mode 0600). A real bank keeps
                seeds in an HSM or a key store, never in a plain file like this one.
  verifier.tsv  the verifier's state: last accepted steps, failure counts, drift.
  lock          present while a command updates the files (concurrent runs take turns).

Exit status: 0 accepted or done, 1 rejected or failed, 2 bad usage.";

const CARDS_FILE: &str = "cards.tsv";
const VERIFIER_FILE: &str = "verifier.tsv";
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
        "--dir" | "--label" | "--phone" | "--png" | "--validity"
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

/// Writes `bytes` to `path` through a temporary file (mode 0600 on Unix),
/// synced and renamed into place: a crash leaves the old or the new file.
fn write_private(path: &Path, bytes: &[u8]) -> Res<()> {
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    let temp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let write = || -> io::Result<()> {
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()).into())
}

fn read_optional(path: &Path) -> Res<Option<Zeroizing<String>>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(Zeroizing::new(text))),
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

/// An exclusive lock on the bank's files (`DIR/lock`), held from loading to
/// saving, so two invocations at once cannot both accept one PIN or lose an
/// update. A lock left by a killed process is taken over after a while.
struct StateLock(PathBuf);

impl StateLock {
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

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

// ---- the bank's card file ---------------------------------------------------

/// A card as the bank keeps it: everything needed to rebuild its [`Card`].
struct BankCard {
    id: CardId,
    activation: ActivationId,
    card_ref: CardRef,
    label: Option<String>,
    phone: Option<String>,
    first: Option<PinPolicy>,
    second: Option<PinPolicy>,
    /// The master seed. In a real bank: a handle to a key in the HSM.
    seed: SecretBytes,
    issued_at: u64,
    expires_at: u64,
    confirmed: bool,
}

impl BankCard {
    /// The bank's copy of the card, computing the same PINs as the phone.
    fn card(&self) -> Res<Card> {
        Ok(Card::bank_card(
            self.id,
            self.label.as_deref().unwrap_or("card"),
            self.card_ref,
            self.seed.clone(),
            self.first,
            self.second,
        )?)
    }

    fn to_line(&self) -> Zeroizing<String> {
        let policy = |p: Option<PinPolicy>| {
            p.map_or("none".to_owned(), |p| {
                format!("{}/{}/{}", p.algorithm, p.digits, p.period)
            })
        };
        let mut fields = vec![
            "card".to_owned(),
            format!("id={}", self.id),
            format!("activation={}", self.activation),
            format!("bin={}", self.card_ref.bin()),
            format!("last4={}", self.card_ref.last_four()),
            format!("first={}", policy(self.first)),
            format!("second={}", policy(self.second)),
            format!("issued={}", self.issued_at),
            format!("expires={}", self.expires_at),
            format!("confirmed={}", if self.confirmed { "yes" } else { "no" }),
        ];
        if let Some(phone) = &self.phone {
            fields.push(format!("phone={phone}"));
        }
        // Labels cannot hold tabs or line breaks: the card rules refuse control characters.
        if let Some(label) = &self.label {
            fields.push(format!("label={label}"));
        }
        let mut line = Zeroizing::new(fields.join("\t"));
        line.push_str("\tseed=");
        line.push_str(&hex(self.seed.expose()));
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
        let policy = |key: &str| -> Option<Option<PinPolicy>> {
            let value = get(key)?;
            if value == "none" {
                return Some(None);
            }
            let mut parts = value.split('/');
            let algorithm: Algorithm = parts.next()?.parse().ok()?;
            let digits = parts.next()?.parse().ok()?;
            let period = parts.next()?.parse().ok()?;
            Some(Some(PinPolicy {
                algorithm,
                digits,
                period,
            }))
        };
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
            first: policy("first")?,
            second: policy("second")?,
            seed: SecretBytes::from(unhex(get("seed")?)?),
            issued_at: get("issued")?.parse().ok()?,
            expires_at: get("expires")?.parse().ok()?,
            confirmed: get("confirmed")? == "yes",
        })
    }
}

fn load_cards(dir: &Path) -> Res<Vec<BankCard>> {
    let path = dir.join(CARDS_FILE);
    let Some(text) = read_optional(&path)? else {
        return Ok(Vec::new());
    };
    let mut cards = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let card = BankCard::from_line(line)
            .ok_or_else(|| format!("{} line {}: not a card record", path.display(), number + 1))?;
        cards.push(card);
    }
    Ok(cards)
}

fn save_cards(dir: &Path, cards: &[BankCard]) -> Res<()> {
    let mut out = Zeroizing::new(String::from(
        "# dynpin example bank: issued cards, one per line.\n\
         # WARNING: the seed= fields are the cards' master seeds in hex. This file is a\n\
         # demonstration; a real bank keeps seeds in an HSM or a key store, never here.\n",
    ));
    for card in cards {
        out.push_str(&card.to_line());
    }
    write_private(&dir.join(CARDS_FILE), out.as_bytes())
}

/// The card `selector` names: last four digits, card id or activation id.
fn find_card<'a>(cards: &'a mut [BankCard], selector: &str) -> Res<&'a mut BankCard> {
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
    let matching: Vec<usize> = cards
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            Some(c.id) == by_id
                || by_activation.as_deref() == Some(c.activation.to_string().as_str())
                || Some(c.card_ref.last_four()) == by_last_four
        })
        .map(|(i, _)| i)
        .collect();
    match matching.as_slice() {
        [] => Err(format!("no issued card matches '{selector}'").into()),
        [one] => cards.get_mut(*one).ok_or_else(|| "no such card".into()),
        _ => {
            let ids: Vec<String> = matching
                .iter()
                .filter_map(|&i| cards.get(i))
                .map(|c| c.id.to_string())
                .collect();
            Err(format!(
                "several cards match '{selector}'; use a card id: {}",
                ids.join(", ")
            )
            .into())
        }
    }
}

// ---- the verifier's store ---------------------------------------------------

/// A [`VerifierStore`] kept in a small text file: loaded at start, saved after
/// each check. Within the process a mutex makes every operation atomic, as
/// the trait requires; across processes [`StateLock`] makes invocations take
/// turns from load to save. A bank with many servers maps the same operations
/// onto a shared store instead (an atomic set-if-greater in Redis, a
/// conditional row update in PostgreSQL).
struct FileStore {
    path: PathBuf,
    state: Mutex<StoreState>,
}

#[derive(Default)]
struct StoreState {
    /// The last accepted step per card and PIN.
    steps: HashMap<SlotKey, u64>,
    failures: HashMap<CardId, u32>,
    /// The drift per card and PIN, in seconds.
    drift: HashMap<SlotKey, i64>,
    /// The last accepted step per amount-bound transaction, within the horizon.
    transactions: HashMap<(CardId, TransactionKey), u64>,
    /// Activation status per card enrolled for confirmation.
    status: HashMap<CardId, CardStatus>,
    /// Confirmation attempts per card.
    confirmation_attempts: HashMap<CardId, u32>,
}

const STATUSES: [(CardStatus, &str); 3] = [
    (CardStatus::Pending, "pending"),
    (CardStatus::Active, "active"),
    (CardStatus::Suspended, "suspended"),
];

fn kind_by_name(name: &str) -> Option<PinKind> {
    [
        PinKind::First,
        PinKind::Second,
        PinKind::Token,
        PinKind::AmountBound,
    ]
    .into_iter()
    .find(|k| k.name() == name)
}

impl FileStore {
    fn load(path: PathBuf) -> Res<Self> {
        let mut state = StoreState::default();
        if let Some(text) = read_optional(&path)? {
            for (number, line) in text.lines().enumerate() {
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                let fields: Vec<&str> = line.split('\t').collect();
                let card = |i: usize| fields.get(i).and_then(|t| CardId::parse(t));
                let ok = match fields.first().copied() {
                    Some("step") => {
                        let kind = fields.get(2).and_then(|k| kind_by_name(k));
                        let step = fields.get(3).and_then(|s| s.parse().ok());
                        card(1).zip(kind).zip(step).map(|((card, kind), step)| {
                            state.steps.insert(SlotKey { card, kind }, step);
                        })
                    }
                    Some("failures") => card(1)
                        .zip(fields.get(2).and_then(|n| n.parse().ok()))
                        .map(|(card, n)| {
                            state.failures.insert(card, n);
                        }),
                    // Before drift was kept per PIN in seconds: no longer meaningful.
                    Some("drift") if fields.len() == 3 => Some(()),
                    Some("drift") => {
                        let kind = fields.get(2).and_then(|k| kind_by_name(k));
                        let seconds = fields.get(3).and_then(|n| n.parse().ok());
                        card(1).zip(kind).zip(seconds).map(|((card, kind), n)| {
                            state.drift.insert(SlotKey { card, kind }, n);
                        })
                    }
                    Some("status") => card(1)
                        .zip(fields.get(2).and_then(|name| {
                            STATUSES.iter().find(|(_, n)| n == name).map(|(s, _)| *s)
                        }))
                        .map(|(card, status)| {
                            state.status.insert(card, status);
                        }),
                    Some("confirmation-attempts") => card(1)
                        .zip(fields.get(2).and_then(|n| n.parse().ok()))
                        .map(|(card, n)| {
                            state.confirmation_attempts.insert(card, n);
                        }),
                    Some("transaction") => {
                        let key = fields
                            .get(2)
                            .and_then(|k| unhex(k))
                            .and_then(|k| <[u8; 32]>::try_from(k).ok());
                        let step = fields.get(3).and_then(|s| s.parse().ok());
                        card(1).zip(key).zip(step).map(|((card, key), step)| {
                            state.transactions.insert((card, TransactionKey(key)), step);
                        })
                    }
                    _ => None,
                };
                if ok.is_none() {
                    return Err(
                        format!("{} line {}: not a record", path.display(), number + 1).into(),
                    );
                }
            }
        }
        Ok(Self {
            path,
            state: Mutex::new(state),
        })
    }

    fn state(&self) -> MutexGuard<'_, StoreState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn save(&self) -> Res<()> {
        let state = self.state();
        let mut out = String::from(
            "# dynpin example bank: verifier state (last accepted step, failures, drift)\n",
        );
        for (slot, step) in &state.steps {
            out.push_str(&format!(
                "step\t{}\t{}\t{step}\n",
                slot.card,
                slot.kind.name()
            ));
        }
        for (card, n) in &state.failures {
            out.push_str(&format!("failures\t{card}\t{n}\n"));
        }
        for (slot, n) in &state.drift {
            out.push_str(&format!(
                "drift\t{}\t{}\t{n}\n",
                slot.card,
                slot.kind.name()
            ));
        }
        for (card, status) in &state.status {
            let name = STATUSES
                .iter()
                .find(|(s, _)| s == status)
                .map_or("suspended", |(_, n)| n);
            out.push_str(&format!("status\t{card}\t{name}\n"));
        }
        for (card, n) in &state.confirmation_attempts {
            out.push_str(&format!("confirmation-attempts\t{card}\t{n}\n"));
        }
        for ((card, key), step) in &state.transactions {
            out.push_str(&format!("transaction\t{card}\t{}\t{step}\n", hex(&key.0)));
        }
        write_private(&self.path, out.as_bytes())
    }
}

impl VerifierStore for FileStore {
    fn claim_attempt(&self, card: CardId, limit: u32) -> Option<u32> {
        let mut state = self.state();
        let count = state.failures.entry(card).or_insert(0);
        (*count < limit).then(|| {
            *count = count.saturating_add(1);
            *count
        })
    }

    fn accept_step(&self, slot: SlotKey, step: u64) -> bool {
        let mut state = self.state();
        match state.steps.get(&slot) {
            Some(&last) if last >= step => false,
            _ => {
                state.steps.insert(slot, step);
                state.failures.remove(&slot.card);
                true
            }
        }
    }

    fn accept_transaction(&self, card: CardId, transaction: TransactionKey, step: u64) -> bool {
        let mut state = self.state();
        let newest = state
            .transactions
            .iter()
            .filter(|((c, _), _)| *c == card)
            .map(|(_, &s)| s)
            .max();
        let beyond_horizon =
            newest.is_some_and(|n| step.saturating_add(TRANSACTION_HORIZON_STEPS) <= n);
        let used = state
            .transactions
            .get(&(card, transaction))
            .is_some_and(|&last| step <= last);
        if beyond_horizon || used {
            return false;
        }
        state.transactions.insert((card, transaction), step);
        let newest = newest.map_or(step, |n| n.max(step));
        state
            .transactions
            .retain(|(c, _), s| *c != card || s.saturating_add(TRANSACTION_HORIZON_STEPS) > newest);
        state.failures.remove(&card);
        true
    }

    fn failures(&self, card: CardId) -> u32 {
        self.state().failures.get(&card).copied().unwrap_or(0)
    }

    fn reset_failures(&self, card: CardId) {
        self.state().failures.remove(&card);
    }

    fn status(&self, card: CardId) -> Option<CardStatus> {
        self.state().status.get(&card).copied()
    }

    fn open_confirmation(&self, card: CardId) {
        self.state()
            .status
            .entry(card)
            .or_insert(CardStatus::Pending);
    }

    fn claim_confirmation_attempt(&self, card: CardId, limit: u32) -> Option<u32> {
        let mut state = self.state();
        let count = state.confirmation_attempts.entry(card).or_insert(0);
        (*count < limit).then(|| {
            *count = count.saturating_add(1);
            *count
        })
    }

    fn confirm(&self, card: CardId) -> Option<CardStatus> {
        let mut state = self.state();
        let before = state.status.get(&card).copied();
        let after = match before {
            None | Some(CardStatus::Pending) => CardStatus::Active,
            Some(_) => CardStatus::Suspended,
        };
        state.status.insert(card, after);
        before
    }

    fn set_status(&self, card: CardId, status: CardStatus) {
        self.state().status.insert(card, status);
    }

    fn last_step(&self, slot: SlotKey) -> Option<u64> {
        self.state().steps.get(&slot).copied()
    }

    fn drift(&self, slot: SlotKey) -> i64 {
        self.state().drift.get(&slot).copied().unwrap_or(0)
    }

    fn set_drift(&self, slot: SlotKey, seconds: i64) {
        self.state().drift.insert(slot, seconds);
    }
}

/// The verifier over the bank's file store, with `card` registered.
/// The card's activation may be confirmed while its payload is valid.
fn verifier_for(dir: &Path, card: &BankCard) -> Res<(Verifier<FileStore>, CardId)> {
    let store = FileStore::load(dir.join(VERIFIER_FILE))?;
    let config = VerifierConfig {
        confirmation_seconds: card
            .expires_at
            .saturating_sub(card.issued_at)
            .clamp(60, 30 * 86_400),
        ..VerifierConfig::default()
    };
    let verifier = Verifier::with_store(config, store)?;
    // A card confirmed before the verifier kept confirmations.
    if card.confirmed && verifier.store().status(card.id).is_none() {
        verifier.store().set_status(card.id, CardStatus::Active);
    }
    let id = verifier.register_pending(card.card()?, card.activation, card.issued_at);
    Ok((verifier, id))
}

/// Prints the outcome of a check; exit 0 when accepted, 1 otherwise.
fn report<T>(result: Result<T, VerifyError>) -> ExitCode {
    match result {
        Ok(_) => {
            println!("accepted");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("rejected: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A card's dynamic PIN counts only once the customer confirmed the activation.
fn require_confirmed(card: &BankCard) -> Option<ExitCode> {
    if card.confirmed {
        return None;
    }
    println!(
        "rejected: the activation of card {} is not confirmed yet (bank confirm {} <CODE>)",
        card.card_ref.last_four(),
        card.card_ref.last_four()
    );
    Some(ExitCode::FAILURE)
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
    let clock = SystemClock;
    let issued = issuer.provision(&request, &clock)?;
    let (issued_at, expires_at) = issued.validity();
    let record = BankCard {
        id: issued.card_id(),
        activation: issued.activation_id(),
        card_ref,
        label,
        phone,
        first: request.first_pin,
        second: request.second_pin,
        seed: issued.master_seed().clone(),
        issued_at,
        expires_at,
        confirmed: false,
    };
    record.card()?; // the label and policies pass the card rules

    let _lock = StateLock::acquire(dir)?;
    let mut cards = load_cards(dir)?;
    let before = cards.len();
    cards.retain(|c| c.card_ref != card_ref);
    if cards.len() != before {
        eprintln!(
            "note: this replaces the earlier activation of card {}",
            card_ref.last_four()
        );
    }
    let (id, activation_id) = (record.id, record.activation);
    let phone = record.phone.clone();
    cards.push(record);
    save_cards(dir, &cards)?;
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
    let _lock = StateLock::acquire(dir)?;
    let mut cards = load_cards(dir)?;
    let card = find_card(&mut cards, selector)?;
    // Once, while the payload is valid, 5 attempts; a second confirmation
    // suspends the card as a possible clone.
    let (verifier, id) = verifier_for(dir, card)?;
    let result = verifier.confirm(id, code, &SystemClock);
    verifier.store().save()?;
    match result {
        Ok(()) => {
            card.confirmed = true;
            save_cards(dir, &cards)?;
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
    let _lock = StateLock::acquire(dir)?;
    let mut cards = load_cards(dir)?;
    let card = find_card(&mut cards, selector)?;
    if let Some(exit) = require_confirmed(card) {
        return Ok(exit);
    }
    let (verifier, id) = verifier_for(dir, card)?;
    let result = verifier.verify(id, kind, pin, &SystemClock);
    verifier.store().save()?;
    Ok(report(result))
}

fn verify_amount(dir: &Path, args: Args) -> Res<ExitCode> {
    args.done()?;
    let [selector, amount, payee, pin] = args.positionals.as_slice() else {
        return usage("verify-amount needs the card, the amount in rials, the payee and the PIN");
    };
    let amount = parse_amount(amount)?;
    let _lock = StateLock::acquire(dir)?;
    let mut cards = load_cards(dir)?;
    let card = find_card(&mut cards, selector)?;
    if let Some(exit) = require_confirmed(card) {
        return Ok(exit);
    }
    let (verifier, id) = verifier_for(dir, card)?;
    let result = verifier.verify_amount_bound(id, pin, amount, payee, &SystemClock);
    verifier.store().save()?;
    Ok(report(result))
}

fn reset(dir: &Path, args: Args) -> Res<ExitCode> {
    args.done()?;
    let [selector] = args.positionals.as_slice() else {
        return usage("reset needs the card");
    };
    let _lock = StateLock::acquire(dir)?;
    let mut cards = load_cards(dir)?;
    let card = find_card(&mut cards, selector)?;
    let (verifier, id) = verifier_for(dir, card)?;
    verifier.reset(id);
    verifier.store().save()?;
    println!("card {}: dynamic PIN unlocked", card.card_ref.last_four());
    Ok(ExitCode::SUCCESS)
}

fn list(dir: &Path, args: Args) -> Res<ExitCode> {
    args.done()?;
    if !args.positionals.is_empty() {
        return usage("list takes no arguments");
    }
    let cards = load_cards(dir)?;
    if cards.is_empty() {
        println!("no cards issued yet");
    }
    for card in &cards {
        println!(
            "{}  {:<12} id {}  activation {}  {}  phone {}  label {}",
            card.card_ref.last_four(),
            card.card_ref.bank().map_or("Unknown bank", Bank::name),
            card.id,
            card.activation,
            if card.confirmed {
                "confirmed"
            } else {
                "unconfirmed"
            },
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
    let mut cards = load_cards(dir)?;
    let card = find_card(&mut cards, selector)?;
    // The service keeps its pending codes in memory: request and check happen in this run.
    let service = SmsService::new(SmsConfig::default())?;
    let tx = Transaction {
        id: random_transaction_id()?,
        amount_rials: amount,
        merchant: merchant.clone(),
    };
    let clock = SystemClock;
    let sent = service.request(card.id, &tx, &clock)?;
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
    match service.verify(card.id, &tx, &typed, &clock) {
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
    let cards = load_cards(dir)?;
    let service = SmsService::new(SmsConfig::default())?;
    for card in &cards {
        if let Some(registered) = &card.phone {
            service.register_phone(registered, card.id, card.card_ref.last_four());
        }
    }
    let clock = SystemClock;
    let reply = service.answer_sms(phone, &body, &clock);
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
    match service.verify_card_code(card, &typed, &clock) {
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
