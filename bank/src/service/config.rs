//! The service's configuration: a JSON file (`dynpin-bank serve --config
//! FILE`), written for development by `dynpin-bank dev`. Secrets are never
//! in it: keys are in files it names, client secrets only as SHA-256
//! hashes, and the PostgreSQL URL (which holds a password) in an
//! environment variable it names.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a client may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Provision cards.
    Provision,
    /// Verify PINs, confirmations and SMS codes; request SMS codes.
    Verify,
    /// Operator calls: unlock, resync, suspend, lift, card state.
    Operator,
    /// The app: fetch a sealed activation payload by its handle (ATM channel).
    App,
    /// The SMS gateway: deliver incoming messages.
    Gateway,
    /// Read `/metrics`.
    Metrics,
}

/// A client credential: its id, the SHA-256 of its secret (hex), its scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// The client's id (`[A-Za-z0-9_-]{1,64}`).
    pub id: String,
    /// SHA-256 of the secret, 64 hex digits.
    pub secret_sha256: String,
    /// What it may call.
    pub scopes: Vec<Scope>,
}

/// Where the state is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreConfig {
    /// The embedded SQLite store at this path: one instance.
    Sqlite(PathBuf),
    /// PostgreSQL: a fleet.
    Postgres {
        /// The environment variable holding the connection URL.
        url_env: String,
        /// Connections per instance.
        pool_size: usize,
    },
}

/// A key in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyConfig {
    /// The key's id.
    pub id: String,
    /// The file: 32 bytes or 64 hex digits.
    pub file: PathBuf,
}

/// Where SMS messages go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayConfig {
    /// The development outbox (and a JSON-lines file, if given).
    Outbox {
        /// Append each message here too.
        file: Option<PathBuf>,
    },
    /// POST JSON to this URL.
    Http {
        /// `http://host:port/path`.
        url: String,
        /// The environment variable holding a bearer token, if any.
        token_env: Option<String>,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where to listen (loopback for development).
    pub listen: SocketAddr,
    /// The store.
    pub store: StoreConfig,
    /// The key encryption key for cards' seeds.
    pub kek: KeyConfig,
    /// The SMS codes' hashing key.
    pub sms_key: KeyConfig,
    /// The client credentials.
    pub clients: Vec<ClientConfig>,
    /// The SMS gateway.
    pub gateway: GatewayConfig,
    /// Development mode: serves the development outbox (`/dev/outbox`), the
    /// demonstration pages (`/bank/activate`, `/pay`, `/dev/inbox`; no
    /// credential) and provisions with the minimum Argon2id cost. Never in
    /// production.
    #[serde(default)]
    pub development: bool,
    /// Request bodies larger than this are refused (bytes; default 16 KiB).
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
    /// Requests taking longer are cut off (milliseconds; default 10 000).
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    /// Added to this instance's clock (seconds): only for tests of clock
    /// skew between servers. Default 0.
    #[serde(default)]
    pub clock_offset_seconds: i64,
    /// The PIN window and limits.
    #[serde(default)]
    pub verifier: VerifierSettings,
    /// The Harim SMS codes.
    #[serde(default)]
    pub sms: SmsSettings,
}

/// The SMS code settings a bank may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsSettings {
    /// Seconds a code is accepted (default 120, as Harim specifies; 5 to
    /// 600). Shorter only for tests, such as the browser test of the
    /// development pages, which watches a code expire.
    pub validity_seconds: u64,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            validity_seconds: crate::sms::DEFAULT_VALIDITY_SECONDS,
        }
    }
}

/// The verifier settings a bank may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VerifierSettings {
    /// Steps behind accepted.
    pub behind: u8,
    /// Steps ahead accepted.
    pub ahead: u8,
    /// Failures before a card's dynamic PIN locks.
    pub failure_limit: u32,
    /// Confirmation attempts.
    pub confirmation_attempts: u32,
    /// Seconds to confirm an activation.
    pub confirmation_seconds: u64,
}

impl Default for VerifierSettings {
    fn default() -> Self {
        let d = crate::verifier::VerifierConfig::default();
        Self {
            behind: d.behind,
            ahead: d.ahead,
            failure_limit: d.failure_limit,
            confirmation_attempts: d.confirmation_attempts,
            confirmation_seconds: d.confirmation_seconds,
        }
    }
}

fn default_body_limit() -> usize {
    16 * 1024
}

fn default_request_timeout() -> u64 {
    10_000
}

/// The configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads and checks a configuration file; relative paths in it are
    /// relative to the file's directory.
    ///
    /// # Errors
    /// [`ConfigError`] naming what is wrong.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        let mut config: Config = serde_json::from_str(&text)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve(base);
        config.check()?;
        Ok(config)
    }

    fn resolve(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let StoreConfig::Sqlite(p) = &mut self.store {
            fix(p);
        }
        fix(&mut self.kek.file);
        fix(&mut self.sms_key.file);
        if let GatewayConfig::Outbox { file: Some(p) } = &mut self.gateway {
            fix(p);
        }
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`ConfigError`].
    pub fn check(&self) -> Result<(), ConfigError> {
        for client in &self.clients {
            let id_ok = !client.id.is_empty()
                && client.id.len() <= 64
                && client
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !id_ok {
                return Err(ConfigError(format!(
                    "client id '{}' is not [A-Za-z0-9_-]{{1,64}}",
                    client.id
                )));
            }
            if client.secret_sha256.len() != 64
                || !client.secret_sha256.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(ConfigError(format!(
                    "client '{}': secret_sha256 is 64 hex digits",
                    client.id
                )));
            }
        }
        if !(256..=1024 * 1024).contains(&self.body_limit) {
            return Err(ConfigError("body_limit is 256 B to 1 MiB".into()));
        }
        if !(100..=120_000).contains(&self.request_timeout_ms) {
            return Err(ConfigError("request_timeout_ms is 100 to 120 000".into()));
        }
        if !(5..=600).contains(&self.sms.validity_seconds) {
            return Err(ConfigError("sms.validity_seconds is 5 to 600".into()));
        }
        if self.clock_offset_seconds.unsigned_abs() > 3600 {
            return Err(ConfigError(
                "clock_offset_seconds is at most an hour either way".into(),
            ));
        }
        Ok(())
    }
}
