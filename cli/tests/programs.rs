//! The `bank` and `phone` programs, run as processes the way a person
//! would use them: they share nothing but the QR code image and the codes
//! typed from one to the other.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};

const PASSWORD: &str = "گل‌سرخ ۱۴۰۳ vault";
const PHONE_NUMBER: &str = "09121234567";

/// A scratch directory, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "dynpin-programs-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The program `name`, as cargo built it for this test.
fn program_path(name: &str) -> &'static str {
    match name {
        "bank" => env!("CARGO_BIN_EXE_bank"),
        _ => env!("CARGO_BIN_EXE_phone"),
    }
}

/// A command for one program, with a clean environment for its state.
fn program(name: &str, scratch: &Scratch) -> Command {
    let mut command = Command::new(program_path(name));
    command
        .env("XDG_DATA_HOME", scratch.path("xdg"))
        .env("HOME", scratch.path("home"))
        .env_remove("DYNPIN_PASSWORD")
        .env_remove("DYNPIN_TOKEN")
        .stdin(Stdio::null());
    command
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(output: Output) -> Self {
        let run = Self {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        assert!(!run.stderr.contains("panicked"), "a panic:\n{}", run.stderr);
        run
    }

    fn expect(self, status: i32, context: &str) -> Self {
        assert_eq!(
            self.status, status,
            "{context}: exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The rest of the first stdout line starting with `prefix`.
    fn line(&self, prefix: &str) -> String {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no line '{prefix}…' in:\n{}", self.stdout))
            .to_owned()
    }
}

/// The bank program in `dir` with `args`.
fn bank(scratch: &Scratch, args: &[&str]) -> Run {
    let dir = scratch.path("bank");
    Run::of(
        program("bank", scratch)
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// The phone program with its own vault directory and `--fast-kdf`.
fn phone(scratch: &Scratch, args: &[&str]) -> Run {
    Run::of(
        program("phone", scratch)
            .arg("--dir")
            .arg(scratch.path("phone"))
            .arg("--fast-kdf")
            .args(args)
            .env("DYNPIN_PASSWORD", PASSWORD)
            .output()
            .unwrap(),
    )
}

/// Runs the bank program, waits for the line starting with `code_prefix`,
/// types `answer(code)` on its standard input and returns the whole run.
fn bank_interactive(
    scratch: &Scratch,
    args: &[&str],
    code_prefix: &str,
    answer: impl Fn(&str) -> String,
) -> (Run, String) {
    let mut child = program("bank", scratch)
        .arg("--dir")
        .arg(scratch.path("bank"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let code = loop {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "no '{code_prefix}' line in:\n{seen}"
        );
        seen.push_str(&line);
        if let Some(rest) = line.trim_end().strip_prefix(code_prefix) {
            break rest.to_owned();
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", answer(&code)).unwrap();
    drop(stdin);
    stdout.read_to_string(&mut seen).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap().code().unwrap_or(-1);
    assert!(!stderr.contains("panicked"), "a panic:\n{stderr}");
    (
        Run {
            status,
            stdout: seen,
            stderr,
        },
        code,
    )
}

/// `<name> <kind> <digits> (<n>s)` lines of `phone codes` → the digits.
fn code_of(run: &Run, name: &str, kind: &str) -> String {
    let line = run.line(&format!("{name} {kind} "));
    let (digits, left) = line.split_once(' ').unwrap();
    assert!(
        left.starts_with('(') && left.ends_with("s)"),
        "seconds left in {line:?}"
    );
    assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{line:?}");
    digits.to_owned()
}

/// The same code with its last digit changed.
fn wrong(code: &str) -> String {
    let mut digits: Vec<u8> = code.bytes().collect();
    let last = digits.last_mut().unwrap();
    *last = b'0' + (*last - b'0' + 1) % 10;
    String::from_utf8(digits).unwrap()
}

#[test]
fn bank_and_phone_complete_the_loop() {
    let scratch = Scratch::new("loop");
    let png = scratch.path("card.png");
    let png_arg = png.to_str().unwrap();

    // The bank issues a card typed in Persian digits with dashes.
    let issued = bank(
        &scratch,
        &[
            "issue",
            "۶۱۰۴-۳۳۷۱-۲۳۴۵-۶۷۸۰",
            "--label",
            "Salary",
            "--phone",
            PHONE_NUMBER,
            "--png",
            png_arg,
            "--fast-kdf",
        ],
    )
    .expect(0, "issue");
    assert!(issued.stdout.contains("Bank Mellat"), "{}", issued.stdout);
    assert!(issued.stdout.contains('▀'), "a terminal QR code");
    assert!(issued.line("payload: ").starts_with("DPIN:"));
    let activation_code = issued.line("activation code: ");
    assert_eq!(activation_code.len(), 19, "four groups of four digits");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    // The store, its keys and the card index are the owner's only; no seed
    // is written in the clear.
    #[cfg(unix)]
    for file in ["bank.db", "kek.key", "sms.key", "cards.tsv"] {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(scratch.path("bank").join(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file}");
    }
    let index = std::fs::read_to_string(scratch.path("bank").join("cards.tsv")).unwrap();
    assert!(!index.contains("seed="), "{index}");
    assert!(!scratch.path("bank").join("verifier.tsv").exists());

    // The phone scans the PNG and types the activation code from the SMS.
    let activated =
        phone(&scratch, &["activate", "--png", png_arg, &activation_code]).expect(0, "activate");
    assert!(
        activated.stdout.contains("Bank Mellat"),
        "{}",
        activated.stdout
    );
    assert!(
        activated.stdout.contains("**** 6780"),
        "{}",
        activated.stdout
    );
    assert!(
        activated.stdout.contains("label: Salary"),
        "{}",
        activated.stdout
    );
    let confirmation = activated.line("confirmation code: ");
    assert_eq!(confirmation.len(), 6);
    let again = phone(&scratch, &["activate", "--png", png_arg, &activation_code])
        .expect(1, "activating the same card twice");
    assert!(
        again.stderr.contains("already in the app"),
        "{}",
        again.stderr
    );

    // The bank takes the card's PINs only after the confirmation code.
    let codes = phone(&scratch, &["codes"]).expect(0, "codes");
    let second = code_of(&codes, "6780", "second");
    assert_eq!(second.len(), 8);
    assert_eq!(code_of(&codes, "6780", "first").len(), 4);
    let early = bank(&scratch, &["verify", "6780", "second", &second]).expect(1, "unconfirmed");
    assert!(early.stdout.starts_with("rejected: "), "{}", early.stdout);
    bank(&scratch, &["confirm", "6780", &wrong(&confirmation)]).expect(1, "wrong confirmation");
    let confirmed = bank(&scratch, &["confirm", "6780", &confirmation]).expect(0, "confirm");
    assert!(
        confirmed.stdout.starts_with("confirmed"),
        "{}",
        confirmed.stdout
    );

    // Of several bank processes checking the same first PIN at once, one accepts it.
    let codes = phone(&scratch, &["codes"]).expect(0, "codes");
    let first = code_of(&codes, "6780", "first");
    let racers: Vec<_> = (0..6)
        .map(|_| {
            program("bank", &scratch)
                .arg("--dir")
                .arg(scratch.path("bank"))
                .args(["verify", "6780", "first", &first])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outcomes: Vec<Run> = racers
        .into_iter()
        .map(|child| Run::of(child.wait_with_output().unwrap()))
        .collect();
    let winners = outcomes.iter().filter(|r| r.status == 0).count();
    assert_eq!(winners, 1, "exactly one acceptance");
    for run in outcomes.iter().filter(|r| r.status != 0) {
        assert!(
            run.stdout.contains("already used"),
            "{}{}",
            run.stdout,
            run.stderr
        );
    }

    // A second PIN is accepted once, across invocations; a wrong one is refused.
    let codes = phone(&scratch, &["codes"]).expect(0, "codes");
    let second = code_of(&codes, "6780", "second");
    let accepted = bank(&scratch, &["verify", "6780", "second", &second]).expect(0, "verify");
    assert_eq!(accepted.stdout.trim(), "accepted");
    let replay = bank(&scratch, &["verify", "6780", "second", &second]).expect(1, "replay");
    assert!(
        replay.stdout.starts_with("rejected: ") && replay.stdout.contains("already used"),
        "{}",
        replay.stdout
    );
    let wrong_pin =
        bank(&scratch, &["verify", "6780", "second", &wrong(&second)]).expect(1, "wrong PIN");
    assert!(
        wrong_pin.stdout.starts_with("rejected: wrong dynamic PIN"),
        "{}",
        wrong_pin.stdout
    );
    bank(&scratch, &["verify", "6780", "third", &second]).expect(2, "not a PIN kind");

    // An amount-bound PIN is good for its amount and payee only.
    let signed = phone(&scratch, &["amount", "6780", "5,000,000", "Digikala"]).expect(0, "amount");
    let bound = code_of(&signed, "6780", "amount-bound");
    bank(
        &scratch,
        &["verify-amount", "6780", "5000001", "Digikala", &bound],
    )
    .expect(1, "another amount");
    let accepted = bank(
        &scratch,
        &["verify-amount", "6780", "5000000", "Digikala", &bound],
    )
    .expect(0, "amount-bound PIN");
    assert_eq!(accepted.stdout.trim(), "accepted");
    // Above the ceiling the phone refuses to sign.
    phone(&scratch, &["ceiling", "6780", "۱۰۰۰۰۰۰"]).expect(0, "ceiling");
    let refused = phone(&scratch, &["amount", "6780", "5000000", "Digikala"]).expect(1, "ceiling");
    assert!(
        refused.stderr.contains("ceiling of 1000000 rials"),
        "{}",
        refused.stderr
    );
    let list = phone(&scratch, &["list"]).expect(0, "list");
    assert!(
        list.stdout.contains("ceiling: 1,000,000 rials"),
        "{}",
        list.stdout
    );

    // A Harim-style SMS code, typed back from the English text.
    let (sms, _) = bank_interactive(
        &scratch,
        &["sms", "6780", "5000000", "Digikala"],
        "Dynamic PIN: ",
        str::to_owned,
    );
    let sms = sms.expect(0, "sms");
    assert!(sms.stdout.contains("۵٬۰۰۰٬۰۰۰"), "{}", sms.stdout);
    assert_eq!(sms.stdout.lines().last(), Some("accepted"));
    let (sms, _) = bank_interactive(
        &scratch,
        &["sms", "6780", "5000000", "Digikala"],
        "Dynamic PIN: ",
        wrong,
    );
    assert!(
        sms.expect(1, "wrong SMS code")
            .stdout
            .contains("rejected: wrong")
    );

    // A Mellat-style SMS with the last four digits in Persian, from the
    // enrolled number spelt another way.
    let (reply, code) = bank_interactive(
        &scratch,
        &["sms-in", "+98 912 123 4567", "۶۷۸۰", "--verify"],
        "Dynamic PIN for card 6780: ",
        str::to_owned,
    );
    assert_eq!(code.len(), 7);
    let reply = reply.expect(0, "sms-in --verify");
    assert!(reply.stdout.contains("۶۷۸۰"), "{}", reply.stdout);
    assert_eq!(reply.stdout.lines().last(), Some("accepted"));
    // That was the card's third SMS code in ten minutes: the store keeps
    // count across invocations, and a fourth is refused.
    let limited = bank(&scratch, &["sms-in", PHONE_NUMBER, "6780"]).expect(1, "rate limit");
    assert!(
        limited.stdout.contains("Too many requests"),
        "{}",
        limited.stdout
    );
    let unknown = bank(&scratch, &["sms-in", PHONE_NUMBER, "1111"]).expect(1, "unknown card");
    assert!(
        unknown.stdout.contains("No card ending"),
        "{}",
        unknown.stdout
    );
    let stranger = bank(&scratch, &["sms-in", "09350000000", "6780"]).expect(1, "unknown phone");
    assert!(
        stranger.stdout.contains("No card ending"),
        "{}",
        stranger.stdout
    );

    // An operator unlocks the card's PIN (audited as operator "cli").
    let reset =
        bank(&scratch, &["reset", "6780", "--reason", "customer called"]).expect(0, "reset");
    assert_eq!(reset.stdout.trim(), "card 6780: dynamic PIN unlocked");
    let list = bank(&scratch, &["list"]).expect(0, "list");
    assert!(
        list.stdout.contains("confirmed") && list.stdout.contains("label Salary"),
        "{}",
        list.stdout
    );
}

#[test]
fn phone_keeps_cards_in_the_vault() {
    let scratch = Scratch::new("vault");
    let uri = "otpauth://totp/ACME:john?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME";
    let imported = phone(&scratch, &["import", uri]).expect(0, "import");
    assert!(
        imported.stdout.contains("ACME (john): TOTP"),
        "{}",
        imported.stdout
    );
    assert!(imported.stderr.contains("created a new card vault"));
    assert!(scratch.path("phone").join("vault.bin").exists());

    phone(&scratch, &["rename", "acme", "Work"]).expect(0, "rename by label prefix");
    let codes = phone(&scratch, &["codes"]).expect(0, "codes");
    assert_eq!(code_of(&codes, "Work", "token").len(), 6);

    // Without a terminal, `watch` prints a frame per second and stops.
    let started = std::time::Instant::now();
    let watch = phone(&scratch, &["watch", "--seconds", "2"]).expect(0, "watch");
    assert!(started.elapsed().as_secs() < 5);
    assert!(watch.stdout.lines().count() >= 2, "{}", watch.stdout);
    assert!(watch.stdout.contains('█') || watch.stdout.contains('░'));

    // The password comes from --password too; a wrong one is counted and refused.
    let wrong = Run::of(
        program("phone", &scratch)
            .arg("--dir")
            .arg(scratch.path("phone"))
            .args(["--password", "not the password", "list"])
            .output()
            .unwrap(),
    )
    .expect(1, "wrong password");
    assert!(wrong.stderr.contains("wrong password"), "{}", wrong.stderr);
    let right = Run::of(
        program("phone", &scratch)
            .arg("--dir")
            .arg(scratch.path("phone"))
            .args(["list", "--password", PASSWORD])
            .output()
            .unwrap(),
    )
    .expect(0, "right password");
    assert!(right.stdout.contains("\"Work\""), "{}", right.stdout);

    // A bad payload is refused with a clear one-line message.
    let bad = phone(&scratch, &["activate", "DPIN:AAAA", "1234 5678 9012 3456"]).expect(1, "bad");
    assert_eq!(bad.stderr.lines().count(), 1, "{}", bad.stderr);
}

#[test]
fn bad_input_prints_usage_and_exits_2() {
    let scratch = Scratch::new("usage");
    let bank_runs: [&[&str]; 6] = [
        &[],
        &["frobnicate"],
        &["issue"],
        &["issue", "6104337123456781"],
        &["verify", "6780"],
        &["verify-amount", "6780", "lots", "Digikala", "12345678"],
    ];
    for args in bank_runs {
        let run = bank(&scratch, args).expect(2, &format!("bank {args:?}"));
        assert!(run.stderr.contains("usage: bank"), "{}", run.stderr);
    }
    let phone_runs: [&[&str]; 4] = [
        &[],
        &["codes", "extra"],
        &["watch", "--seconds", "soon"],
        &["activate", "DPIN:AAAA"],
    ];
    for args in phone_runs {
        let run = phone(&scratch, args).expect(2, &format!("phone {args:?}"));
        assert!(run.stderr.contains("usage: phone"), "{}", run.stderr);
    }
    // Nothing was written for commands that never ran.
    assert!(!scratch.path("bank").exists());
    assert!(!scratch.path("phone").exists());

    let help = bank(&scratch, &["--help"]).expect(0, "bank --help");
    assert!(help.stdout.contains("HSM"), "{}", help.stdout);
    phone(&scratch, &["--help"]).expect(0, "phone --help");

    // The default state directory is per user.
    Run::of(program("bank", &scratch).arg("list").output().unwrap()).expect(0, "bank list");
    let run = Run::of(
        program("bank", &scratch)
            .args(["issue", "6104 3371 2345 6780", "--fast-kdf"])
            .output()
            .unwrap(),
    )
    .expect(0, "issue into the default directory");
    assert!(run.stdout.contains("payload: DPIN:"));
    let default_dir = scratch.path("xdg").join("dynpin").join("bank");
    assert!(default_dir.join("cards.tsv").exists());
    assert!(default_dir.join("bank.db").exists());

    // The seed file of the program before the store is refused, not misread.
    let old = scratch.path("old-bank");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(
        old.join("cards.tsv"),
        "card\tid=00000000000000000000000000000001\tlast4=6780\tseed=00\n",
    )
    .unwrap();
    let refused = Run::of(
        program("bank", &scratch)
            .arg("--dir")
            .arg(&old)
            .arg("list")
            .output()
            .unwrap(),
    )
    .expect(1, "an old cards.tsv");
    assert!(
        refused.stderr.contains("earlier version"),
        "{}",
        refused.stderr
    );
}

// ---- the phone and the bank service ------------------------------------------

/// The bank service's binary, `dynpin-bank`. Cargo tells a test where its
/// own package's binaries are (`CARGO_BIN_EXE_…`) but not another
/// package's, so it is found beside this test's executable:
/// `target/debug/deps/dynpin_cli-…` → `target/debug/dynpin-bank`.
/// `cargo test --workspace` (and `scripts/test`) builds every member's
/// binaries before it runs any test; with `cargo test -p dynpin-cli` alone,
/// build it first: `cargo build -p dynpin-bank --bin dynpin-bank`.
fn service_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join(format!("dynpin-bank{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p dynpin-bank --bin dynpin-bank` first \
         (cargo test --workspace builds it)",
        path.display()
    );
    path
}

/// A `dynpin-bank dev` instance on a port of its own, killed when dropped.
struct Service {
    child: Child,
    /// `127.0.0.1:PORT`.
    addr: String,
    /// The admin credential `dev` wrote (every scope, `app` included).
    token: String,
    /// Its standard output, kept open: the service prints only its first line.
    _stdout: BufReader<ChildStdout>,
}

impl Service {
    fn start(scratch: &Scratch) -> Self {
        let dir = scratch.path("service");
        let log = std::fs::File::create(scratch.path("service.log")).unwrap();
        let mut child = Command::new(service_binary())
            .arg("dev")
            .arg("--dir")
            .arg(&dir)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(scratch.path("service.log")).unwrap_or_default();
            panic!("dynpin-bank dev did not start: {line:?}\n{log}");
        };
        let token = std::fs::read_to_string(dir.join("admin.token")).unwrap();
        Self {
            addr: addr.to_owned(),
            token: token.trim().to_owned(),
            child,
            _stdout: stdout,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `POST path` with a JSON body and the admin credential: the status and the JSON answer.
    fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let body = body.to_string();
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            self.token,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Answers one HTTP request with `answer` on a port of its own: the address
/// and, once answered, the request as received.
fn stand_in(answer: String) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let served = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut request = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
            request.push_str(&line);
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        request.push_str(&String::from_utf8(body).unwrap());
        reader.get_mut().write_all(answer.as_bytes()).unwrap();
        request
    });
    (addr, served)
}

/// `phone activate --fetch …` with extra environment.
fn phone_fetch(scratch: &Scratch, args: &[&str], token: Option<&str>) -> Run {
    let mut command = program("phone", scratch);
    command
        .arg("--dir")
        .arg(scratch.path("phone"))
        .arg("--fast-kdf")
        .arg("activate")
        .args(args)
        .env("DYNPIN_PASSWORD", PASSWORD);
    if let Some(token) = token {
        command.env("DYNPIN_TOKEN", token);
    }
    Run::of(command.output().unwrap())
}

#[test]
fn phone_fetches_an_atm_activation_from_the_service() {
    let scratch = Scratch::new("fetch");
    let mut service = Service::start(&scratch);
    let url = service.url();

    // The ATM channel: a handle and the activation code on the receipt, no payload.
    let (status, card) = service.post(
        "/v1/cards",
        &serde_json::json!({"bin": 610433, "last_four": "6780", "label": "ATM", "channel": "atm"}),
    );
    assert_eq!(status, 201, "{card}");
    assert!(card.get("payload").is_none(), "{card}");
    let id = card["card_id"].as_str().unwrap().to_owned();
    let handle = card["activation_handle"].as_str().unwrap().to_owned();
    let code = card["activation_code"].as_str().unwrap().to_owned();
    assert_eq!(handle.len(), 14, "4-4-4 digits: {handle}");

    let token_file = scratch.path("app.token");
    std::fs::write(&token_file, format!("{}\n", service.token)).unwrap();
    let token_arg = token_file.to_str().unwrap();

    // No credential: a usage error, and nothing is fetched.
    let run = phone_fetch(
        &scratch,
        &["--fetch", &url, "--handle", &handle, &code],
        None,
    )
    .expect(2, "no credential");
    assert!(run.stderr.contains("DYNPIN_TOKEN"), "{}", run.stderr);
    // A handle the bank never printed (the credential from the environment).
    let run = phone_fetch(
        &scratch,
        &["--fetch", &url, "--handle", "0000 0000 0000", &code],
        Some(&service.token),
    )
    .expect(1, "unknown handle");
    assert!(
        run.stderr
            .contains("no activation with handle 0000-0000-0000"),
        "{}",
        run.stderr
    );
    // A wrong secret.
    let bad_token = scratch.path("bad.token");
    let wrong_secret = format!("{}0", service.token);
    std::fs::write(&bad_token, &wrong_secret).unwrap();
    let run = phone_fetch(
        &scratch,
        &[
            "--fetch",
            &url,
            "--handle",
            &handle,
            "--token-file",
            bad_token.to_str().unwrap(),
            &code,
        ],
        None,
    )
    .expect(1, "wrong credential");
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(!run.stderr.contains(&wrong_secret), "{}", run.stderr);

    // The payload, fetched by the handle, activated offline with the receipt's code.
    let activated = phone_fetch(
        &scratch,
        &[
            "--fetch",
            &url,
            "--handle",
            &handle,
            "--token-file",
            token_arg,
            &code,
        ],
        None,
    )
    .expect(0, "fetch and activate");
    assert!(
        activated.stdout.contains("Bank Mellat") && activated.stdout.contains("**** 6780"),
        "{}",
        activated.stdout
    );
    assert!(
        activated.stdout.contains("label: ATM"),
        "{}",
        activated.stdout
    );
    let confirmation = activated.line("confirmation code: ");

    // The bank accepts the phone's PINs once the confirmation code is in.
    let codes = phone(&scratch, &["codes"]).expect(0, "codes");
    let second = code_of(&codes, "6780", "second");
    let verify = |pin_kind: &str, pin: &str| {
        service.post(
            &format!("/v1/cards/{id}/verify"),
            &serde_json::json!({"pin_kind": pin_kind, "pin": pin}),
        )
    };
    let (status, answer) = verify("second", &second);
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("not_confirmed"))
    );
    let (status, answer) = service.post(
        &format!("/v1/cards/{id}/confirm"),
        &serde_json::json!({"code": confirmation}),
    );
    assert_eq!(status, 200, "{answer}");
    let codes = phone(&scratch, &["codes"]).expect(0, "codes");
    for kind in ["first", "second"] {
        let pin = code_of(&codes, "6780", kind);
        let (status, answer) = verify(kind, &pin);
        assert_eq!(status, 200, "{kind}: {answer}");
        assert_eq!(answer["accepted"], true);
        let (status, answer) = verify(kind, &pin);
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some("already_used")),
            "{kind} replayed"
        );
    }

    // Nobody listening.
    service.kill();
    let run = phone_fetch(
        &scratch,
        &[
            "--fetch",
            &url,
            "--handle",
            &handle,
            "--token-file",
            token_arg,
            &code,
        ],
        None,
    )
    .expect(1, "no service");
    assert!(run.stderr.contains("connection refused"), "{}", run.stderr);

    // A service refusing fetches for a while (a stand-in answering 429),
    // which also shows what the phone sends.
    let body = r#"{"error":{"code":"rate_limited","message":"too many activation fetches; retry later","retry_after_seconds":7}}"#;
    let (addr, served) = stand_in(format!(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    let run = phone_fetch(
        &scratch,
        &[
            "--fetch",
            &format!("http://{addr}/"),
            "--handle",
            "۱۲۳۴-۵۶۷۸-۹۰۱۲",
            &code,
        ],
        Some("app-1.s3cret"),
    )
    .expect(1, "rate-limited");
    assert!(run.stderr.contains("try again in 7 s"), "{}", run.stderr);
    let request = served.join().unwrap();
    assert!(
        request.starts_with("POST /v1/activations/fetch HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request
            .lines()
            .any(|l| l.eq_ignore_ascii_case("authorization: Bearer app-1.s3cret")),
        "{request}"
    );
    assert!(
        request.ends_with(r#"{"handle":"123456789012"}"#),
        "{request}"
    );
}
