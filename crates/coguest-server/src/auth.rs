//! Tokens: HS256 JWTs carrying who the user is, its role and which room it may enter.
//!
//! Roles come from the token (a room owner's `set_admin` grant overrides it in that room,
//! which the core decides). The server checks expiry against its own [`Clock`], so
//! tests can expire a token by moving a manual clock.
//!
//! [`Clock`]: crate::Clock

use coguest_core::{Profile, Role, Timestamp, UserId};
use coguest_proto::ErrorCode;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

/// The claims of a coguest token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Avatar URL.
    #[serde(default)]
    pub avatar: String,
    /// Role in the rooms this token opens.
    pub role: Role,
    /// The only room this token opens; absent for any room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Service admin: may use the HTTP admin endpoints.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adm: bool,
}

impl Claims {
    /// Claims for `user` with `role`, valid for `ttl_secs` from `now`.
    pub fn new(user: impl Into<String>, role: Role, now: Timestamp, ttl_secs: u64) -> Self {
        Claims {
            sub: user.into(),
            name: String::new(),
            avatar: String::new(),
            role,
            room: None,
            exp: now.as_millis() / 1000 + ttl_secs,
            adm: false,
        }
    }
}

/// The authenticated identity of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User id.
    pub user: UserId,
    /// Profile shown to others.
    pub profile: Profile,
    /// Role from the token.
    pub role: Role,
    /// The only room it may enter, if limited.
    pub room: Option<String>,
    /// Token expiry, Unix milliseconds.
    pub expires: Timestamp,
    /// Service admin.
    pub admin: bool,
}

impl Identity {
    /// Whether the token has expired at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        now >= self.expires
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token was presented.
    #[error("a token is required (`?token=` or `Authorization: Bearer`)")]
    Missing,
    /// The token is malformed, forged or signed with another secret.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token has expired.
    #[error("the token has expired")]
    Expired,
    /// The token is for another room.
    #[error("this token is for room {0:?} only")]
    WrongRoom(String),
    /// The token does not grant service-admin rights.
    #[error("an admin token (`adm: true`) is required")]
    NotAdmin,
    /// Signing failed.
    #[error("could not sign the token: {0}")]
    Sign(String),
}

impl AuthError {
    /// The wire error code for this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Missing | AuthError::Invalid(_) | AuthError::Sign(_) => {
                ErrorCode::Unauthenticated
            }
            AuthError::Expired => ErrorCode::TokenExpired,
            AuthError::WrongRoom(_) => ErrorCode::WrongRoom,
            AuthError::NotAdmin => ErrorCode::NeedAdminPermission,
        }
    }
}

/// Mints and verifies tokens with one HS256 secret.
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth { .. }")
    }
}

impl Auth {
    /// Keys from a secret.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the server's clock in `verify`.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp".to_owned(), "sub".to_owned()].into();
        Auth {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs these claims.
    pub fn mint(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Sign(e.to_string()))
    }

    /// Checks a token's signature and expiry at `now`.
    pub fn verify(&self, token: Option<&str>, now: Timestamp) -> Result<Identity, AuthError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(AuthError::Missing)?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| AuthError::Invalid(explain(&e)))?;
        let c = data.claims;
        if c.sub.is_empty() {
            return Err(AuthError::Invalid("empty `sub`".into()));
        }
        if c.sub == UserId::OPERATOR {
            // Reserved for the admin API's actor, which has host powers in every room.
            return Err(AuthError::Invalid(format!(
                "`sub` {} is reserved",
                UserId::OPERATOR
            )));
        }
        let identity = Identity {
            user: UserId::from(c.sub),
            profile: Profile {
                user_name: c.name,
                avatar_url: c.avatar,
            },
            role: c.role,
            room: c.room,
            expires: Timestamp::from_millis(c.exp.saturating_mul(1000)),
            admin: c.adm,
        };
        if identity.expired(now) {
            return Err(AuthError::Expired);
        }
        Ok(identity)
    }
}

/// Why a token was not accepted, in words (`jsonwebtoken`'s own are variant names such as
/// `InvalidToken`).
fn explain(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidToken | K::Base64(_) | K::Utf8(_) => {
            "not a JWT (three base64url parts separated by dots)".into()
        }
        K::InvalidSignature => "bad signature (signed with another secret?)".into(),
        K::InvalidAlgorithm | K::InvalidAlgorithmName | K::UnsupportedAlgorithm => {
            "the token must be signed with HS256".into()
        }
        K::MissingRequiredClaim(claim) => format!("the `{claim}` claim is missing"),
        K::InvalidClaimFormat(claim) => format!("the `{claim}` claim has the wrong type"),
        K::Json(e) => format!("its claims do not parse: {e}"),
        _ => format!("not accepted ({e})"),
    }
}

/// The secret file inside a data directory.
pub const SECRET_FILE: &str = "secret";

/// Reads the signing secret from `data_dir/secret`, creating the directory and a random
/// 256-bit secret (hex, mode 0600 on Unix) on first use.
pub fn load_or_create_secret(data_dir: &Path) -> io::Result<Vec<u8>> {
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(data_dir)?;
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(hex.as_bytes())?;
            f.sync_all()?;
            Ok(hex.into_bytes())
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().as_bytes().to_vec())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn mint_then_verify_round_trips_and_expires() {
        let auth = Auth::new(b"s3cret");
        let now = Timestamp::from_millis(1_700_000_000_000);
        let mut claims = Claims::new("alice", Role::Admin, now, 60);
        claims.room = Some("r1".into());
        let token = auth.mint(&claims).unwrap();
        let id = auth.verify(Some(&token), now).unwrap();
        assert_eq!(id.user.as_str(), "alice");
        assert_eq!(id.role, Role::Admin);
        assert_eq!(id.room.as_deref(), Some("r1"));
        assert_eq!(
            auth.verify(Some(&token), now.plus_secs(60)),
            Err(AuthError::Expired)
        );
        let other = Auth::new(b"other");
        assert!(matches!(
            other.verify(Some(&token), now),
            Err(AuthError::Invalid(_))
        ));
        assert_eq!(auth.verify(None, now), Err(AuthError::Missing));
    }

    #[test]
    fn the_operator_id_is_refused() {
        let auth = Auth::new(b"s3cret");
        let now = Timestamp::from_millis(1_700_000_000_000);
        let claims = Claims::new(UserId::OPERATOR, Role::Owner, now, 60);
        let token = auth.mint(&claims).unwrap();
        assert!(matches!(
            auth.verify(Some(&token), now),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn secret_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_secret(&dir.path().join("d")).unwrap();
        let b = load_or_create_secret(&dir.path().join("d")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }
}
