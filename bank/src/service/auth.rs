//! Client credentials: `Authorization: Bearer <client id>.<secret>`. The
//! service keeps only SHA-256 of each secret and compares in constant time;
//! every endpoint but `/healthz`, `/readyz` and `/openapi.json` needs a
//! credential whose scopes allow it.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::config::{ClientConfig, Scope};
use super::error::ApiError;

/// An authenticated client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its id.
    pub id: String,
    scopes: Vec<Scope>,
}

impl Client {
    /// `Ok` if the client holds `scope`, else 403 `forbidden`.
    ///
    /// # Errors
    /// [`ApiError`] 403.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this credential lacks the scope '{scope:?}'").to_lowercase(),
            ))
        }
    }
}

/// The configured clients, by id.
#[derive(Debug, Clone, Default)]
pub struct Clients {
    by_id: HashMap<String, ([u8; 32], Vec<Scope>)>,
}

fn hex32(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *o = u8::from_str_radix(core::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

/// SHA-256 of a client secret, as hex (what the configuration holds).
pub fn secret_hash_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Clients {
    /// The clients of a checked configuration (entries that do not parse are skipped;
    /// [`super::config::Config::check`] refuses them first).
    pub fn new(clients: &[ClientConfig]) -> Self {
        Self {
            by_id: clients
                .iter()
                .filter_map(|c| Some((c.id.clone(), (hex32(&c.secret_sha256)?, c.scopes.clone()))))
                .collect(),
        }
    }

    /// The client presenting `headers`' bearer credential, if it holds `scope`.
    ///
    /// # Errors
    /// 401 `unauthorized` as [`Clients::authenticate`]; 403 `forbidden`.
    pub fn authorize(&self, headers: &HeaderMap, scope: Scope) -> Result<Client, ApiError> {
        let client = self.authenticate(headers)?;
        client.require(scope)?;
        Ok(client)
    }

    /// The client presenting `headers`' bearer credential.
    ///
    /// # Errors
    /// 401 `unauthorized` for a missing, malformed or wrong credential (one
    /// answer for all, so a caller learns nothing about which ids exist).
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Client, ApiError> {
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid client credential is required (Authorization: Bearer <id>.<secret>)",
            )
        };
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthorized)?;
        let token = value.strip_prefix("Bearer ").ok_or_else(unauthorized)?;
        let (id, secret) = token.split_once('.').ok_or_else(unauthorized)?;
        let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        // Compare against a fixed value for unknown ids too, so the time
        // taken does not tell which ids exist.
        let (expected, scopes) = self
            .by_id
            .get(id)
            .map_or(([0u8; 32], None), |(h, s)| (*h, Some(s)));
        let equal = bool::from(presented.ct_eq(&expected));
        match scopes {
            Some(scopes) if equal => Ok(Client {
                id: id.to_owned(),
                scopes: scopes.clone(),
            }),
            _ => Err(unauthorized()),
        }
    }
}
