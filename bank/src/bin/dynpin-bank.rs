//! `dynpin-bank`: the bank service.
//!
//! ```text
//! dynpin-bank dev [--dir DIR] [--listen ADDR]   one instance on the embedded store, set up on first run
//! dynpin-bank init --dir DIR [--postgres]       write a configuration, keys and an admin credential
//! dynpin-bank serve --config FILE               run an instance (SQLite, or PostgreSQL for a fleet)
//! dynpin-bank client --id ID --scopes S,S       a new client credential and its configuration entry
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dynpin_bank::keys::{KeyEncryption, KeyFile, read_key_file};
use dynpin_bank::service::auth::secret_hash_hex;
use dynpin_bank::service::config::{
    ClientConfig, Config, GatewayConfig, KeyConfig, Scope, SmsSettings, StoreConfig,
    VerifierSettings,
};
use dynpin_bank::service::gateway::{HttpGateway, Outbox, SmsGateway};
use dynpin_bank::service::{self, App};
use dynpin_bank::sms::SmsKey;
use dynpin_bank::store::Store;
use dynpin_bank::store::postgres::PgStore;
use dynpin_bank::store::sqlite::SqliteStore;

const USAGE: &str = "usage:
  dynpin-bank dev [--dir DIR] [--listen ADDR]   one instance on the embedded SQLite store
                                                (set up in DIR, default ./dynpin-bank-dev, on first run),
                                                in development mode: the SMS outbox and the demo pages
                                                /bank/activate, /pay and /dev/inbox
  dynpin-bank init --dir DIR [--postgres] [--listen ADDR]
                                                write config.json, keys and an admin credential to DIR
  dynpin-bank serve --config FILE               run an instance
  dynpin-bank client --id ID --scopes S[,S...]  print a new client credential and its config entry
scopes: provision, verify, operator, app, gateway, metrics";

type Res<T> = Result<T, String>;

fn main() -> std::process::ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dynpin-bank: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--name value` from `args`.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn run(args: Vec<String>) -> Res<()> {
    let Some(command) = args.first() else {
        return Err(USAGE.into());
    };
    let rest = args.get(1..).unwrap_or_default();
    match command.as_str() {
        "dev" => {
            let dir =
                PathBuf::from(flag(rest, "--dir").unwrap_or_else(|| "dynpin-bank-dev".into()));
            let listen = flag(rest, "--listen").unwrap_or_else(|| "127.0.0.1:8080".into());
            let config_path = dir.join("config.json");
            if !config_path.exists() {
                init(&dir, false, &listen, true)?;
            }
            serve(&config_path)
        }
        "init" => {
            let dir = flag(rest, "--dir").ok_or(USAGE)?;
            let listen = flag(rest, "--listen").unwrap_or_else(|| "127.0.0.1:8080".into());
            init(
                Path::new(&dir),
                rest.iter().any(|a| a == "--postgres"),
                &listen,
                false,
            )
        }
        "serve" => serve(Path::new(&flag(rest, "--config").ok_or(USAGE)?)),
        "client" => {
            let id = flag(rest, "--id").ok_or(USAGE)?;
            let scopes = parse_scopes(&flag(rest, "--scopes").ok_or(USAGE)?)?;
            let (token, entry) = new_client(&id, scopes)?;
            println!("credential (give it to the client; it is not stored): {token}");
            println!(
                "configuration entry: {}",
                serde_json::to_string(&entry).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command '{other}'\n{USAGE}")),
    }
}

fn parse_scopes(text: &str) -> Res<Vec<Scope>> {
    text.split(',')
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.trim().to_owned()))
                .map_err(|_| format!("unknown scope '{s}'"))
        })
        .collect()
}

/// A new credential `id.secret` and its configuration entry (the secret's hash).
fn new_client(id: &str, scopes: Vec<Scope>) -> Res<(String, ClientConfig)> {
    let mut secret = [0u8; 24];
    getrandom::fill(&mut secret).map_err(|e| e.to_string())?;
    let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let entry = ClientConfig {
        id: id.to_owned(),
        secret_sha256: secret_hash_hex(&secret),
        scopes,
    };
    Ok((format!("{id}.{secret}"), entry))
}

fn write_private(path: &Path, text: &str) -> Res<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes DIR/config.json, the two keys and an admin credential (all scopes)
/// in DIR/admin.token.
fn init(dir: &Path, postgres: bool, listen: &str, development: bool) -> Res<()> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    KeyFile::generate("kek-1", &dir.join("kek.key")).map_err(|e| e.to_string())?;
    KeyFile::generate("sms-1", &dir.join("sms.key")).map_err(|e| e.to_string())?;
    let all = vec![
        Scope::Provision,
        Scope::Verify,
        Scope::Operator,
        Scope::App,
        Scope::Gateway,
        Scope::Metrics,
    ];
    let (token, admin) = new_client("admin", all)?;
    write_private(&dir.join("admin.token"), &format!("{token}\n"))?;
    let config = Config {
        listen: listen
            .parse()
            .map_err(|_| format!("--listen {listen}: not host:port"))?,
        store: if postgres {
            StoreConfig::Postgres {
                url_env: "DATABASE_URL".into(),
                pool_size: 16,
            }
        } else {
            StoreConfig::Sqlite("bank.db".into())
        },
        kek: KeyConfig {
            id: "kek-1".into(),
            file: "kek.key".into(),
        },
        sms_key: KeyConfig {
            id: "sms-1".into(),
            file: "sms.key".into(),
        },
        clients: vec![admin],
        // Development: the outbox. Otherwise the generic HTTP adapter, to
        // point at the bank's SMS provider (or a TLS proxy on the loopback).
        gateway: if development {
            GatewayConfig::Outbox {
                file: Some("outbox.jsonl".into()),
            }
        } else {
            GatewayConfig::Http {
                url: "http://127.0.0.1:9000/send".into(),
                token_env: None,
            }
        },
        development,
        body_limit: 16 * 1024,
        request_timeout_ms: 10_000,
        clock_offset_seconds: 0,
        verifier: VerifierSettings::default(),
        sms: SmsSettings::default(),
    };
    let text = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?;
    write_private(&dir.join("config.json"), &format!("{text}\n"))?;
    eprintln!(
        "dynpin-bank: wrote {}/config.json, kek.key, sms.key; admin credential in {}/admin.token",
        dir.display(),
        dir.display()
    );
    Ok(())
}

fn serve(config_path: &Path) -> Res<()> {
    let config = Config::load(config_path).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        match &config.store {
            StoreConfig::Sqlite(path) => {
                let store = SqliteStore::open(path).map_err(|e| e.to_string())?;
                start(&config, Arc::new(store)).await
            }
            StoreConfig::Postgres { url_env, pool_size } => {
                let url = std::env::var(url_env).map_err(|_| {
                    format!("the environment variable {url_env} (the PostgreSQL URL) is not set")
                })?;
                let store = PgStore::connect(&url, *pool_size)
                    .await
                    .map_err(|e| e.to_string())?;
                start(&config, Arc::new(store)).await
            }
        }
    })
}

async fn start<S: Store>(config: &Config, store: Arc<S>) -> Res<()> {
    // Development mode serves every SMS text at /dev/outbox and pages with
    // no credential: never beyond this machine.
    if config.development && !config.listen.ip().is_loopback() {
        return Err(format!(
            "development mode listens on the loopback only, not {}",
            config.listen
        ));
    }
    if matches!(config.gateway, GatewayConfig::Outbox { .. }) && !config.development {
        return Err(
            "the outbox SMS gateway keeps every code in a file: development only; \
                    configure the http gateway"
                .into(),
        );
    }
    let kek: Arc<dyn KeyEncryption> =
        Arc::new(KeyFile::load(&config.kek.id, &config.kek.file).map_err(|e| e.to_string())?);
    let sms_key = {
        let key = read_key_file(&config.sms_key.file).map_err(|e| e.to_string())?;
        SmsKey::new(&config.sms_key.id, &key[..]).map_err(|e| e.to_string())?
    };
    let (gateway, outbox): (Arc<dyn SmsGateway>, Option<Arc<Outbox>>) = match &config.gateway {
        GatewayConfig::Outbox { file } => {
            let outbox = Arc::new(Outbox::new(file.clone()));
            (Arc::clone(&outbox) as Arc<dyn SmsGateway>, Some(outbox))
        }
        GatewayConfig::Http { url, token_env } => {
            let token = match token_env {
                Some(name) => Some(std::env::var(name).map_err(|_| format!("{name} is not set"))?),
                None => None,
            };
            (
                Arc::new(HttpGateway::new(url, token).map_err(|e| e.to_string())?),
                None,
            )
        }
    };
    let app = Arc::new(
        App::new(config, store, kek, sms_key, gateway, outbox).map_err(|e| e.to_string())?,
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("listening on {}: {e}", config.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // One line on standard output, for scripts that start instances on port 0.
    println!("listening on http://{local}");
    eprintln!(
        "dynpin-bank: serving on http://{local} ({}{})",
        match config.store {
            StoreConfig::Sqlite(_) => "SQLite",
            StoreConfig::Postgres { .. } => "PostgreSQL",
        },
        if config.development {
            ", development mode"
        } else {
            ""
        }
    );
    if config.development {
        eprintln!(
            "dynpin-bank: development pages: http://{local}/bank/activate, http://{local}/pay, http://{local}/dev/inbox"
        );
    }
    service::serve(
        app,
        listener,
        Duration::from_millis(config.request_timeout_ms),
    )
    .await
    .map_err(|e| e.to_string())
}
