//! Brute-force limits on every check of a secret: password and one-time-code login, the code
//! and real-name check at registration, staff login, and the sending of codes.
//!
//! A check is counted per account (resident ID, phone or staff id) and per client address, in
//! fixed windows in the database (`db::rate_limit`), so every process of a node shares the
//! count. An attempt takes its count before the secret is checked and gives it back when the
//! secret was right, so the count is failures plus attempts in flight: concurrent guesses
//! cannot slip past the limit, and someone who logs in correctly is never slowed down. Over a
//! limit: 429 `rate_limited` with `Retry-After`, and the refused attempt stays counted.
//!
//! Each failed check leaves a row in `auth_failures`, and each limit reached one more, once per
//! bucket and window (`result = rate_limited`), for the security officer.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::db::audit::{citizen_actor, hex_sha256};
use crate::db::rate_limit::AuthFailure;
use crate::error::ApiError;
use crate::state::AppState;

/// `[login]` in a node's file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLoginSettings {
    window_seconds: i64,
    failures_per_account: i64,
    failures_per_client: i64,
    codes_per_phone: i64,
    codes_per_client: i64,
}

impl Default for RawLoginSettings {
    fn default() -> Self {
        let d = LoginSettings::default();
        RawLoginSettings {
            window_seconds: d.window_seconds,
            failures_per_account: d.failures_per_account,
            failures_per_client: d.failures_per_client,
            codes_per_phone: d.codes_per_phone,
            codes_per_client: d.codes_per_client,
        }
    }
}

/// The limits, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSettings {
    /// The length of one counting window.
    pub window_seconds: i64,
    /// Failed checks of one account's secret per window (a resident's password, a phone's
    /// codes, a staff member's password).
    pub failures_per_account: i64,
    /// Failed checks of any secret from one client address per window.
    pub failures_per_client: i64,
    /// One-time codes sent to one phone per window (besides at most one a minute).
    pub codes_per_phone: i64,
    /// One-time codes requested from one client address per window.
    pub codes_per_client: i64,
}

/// An hour; ten failures per account leave a six-digit code 240 guesses a day (a chance of
/// about 1 in 4,000), thirty per address let a household or office mistype without harm.
impl Default for LoginSettings {
    fn default() -> Self {
        LoginSettings {
            window_seconds: 3600,
            failures_per_account: 10,
            failures_per_client: 30,
            codes_per_phone: 10,
            codes_per_client: 20,
        }
    }
}

impl LoginSettings {
    pub fn from_raw(raw: RawLoginSettings) -> Result<LoginSettings, ConfigError> {
        let check = |name: &'static str, v: i64, max: i64| {
            if (1..=max).contains(&v) {
                Ok(v)
            } else {
                Err(ConfigError::Invalid(name, format!("between 1 and {max}")))
            }
        };
        Ok(LoginSettings {
            window_seconds: check("login.window_seconds", raw.window_seconds, 86_400)?,
            failures_per_account: check(
                "login.failures_per_account",
                raw.failures_per_account,
                1000,
            )?,
            failures_per_client: check(
                "login.failures_per_client",
                raw.failures_per_client,
                1_000_000,
            )?,
            codes_per_phone: check("login.codes_per_phone", raw.codes_per_phone, 1000)?,
            codes_per_client: check("login.codes_per_client", raw.codes_per_client, 1_000_000)?,
        })
    }
}

/// The calling client's address, as the public search's limit reads it (the TCP peer, or the
/// forwarded address when the peer is a trusted gateway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let public = &s.settings.public;
        Ok(ClientAddress(
            match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
                Some(ConnectInfo(peer)) => {
                    let forwarded = parts
                        .headers
                        .get(public.client_ip_header.as_str())
                        .and_then(|v| v.to_str().ok());
                    crate::disclosure::client::address_of(public.client_of(peer.ip(), forwarded))
                }
                None => "unknown".to_owned(),
            },
        ))
    }
}

/// Which secret is being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    CitizenPassword,
    CitizenCode,
    Register,
    StaffPassword,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::CitizenPassword => "citizen_password",
            Kind::CitizenCode => "citizen_otp",
            Kind::Register => "register",
            Kind::StaffPassword => "staff_password",
        }
    }
}

/// How an account is named in buckets and in the trace: never the ID or phone itself.
pub fn resident_account(resident_id: &str) -> String {
    citizen_actor(resident_id.trim())
}

pub fn phone_account(phone: &str) -> String {
    format!("phone:{}", &hex_sha256(phone.trim().as_bytes())[..16])
}

/// A staff id as given (staff ids are not personal data), hashed when it is too long to be one.
pub fn staff_account(id: &str) -> String {
    let id = id.trim();
    if id.len() <= 64 {
        format!("staff:{id}")
    } else {
        format!("staff:#{}", &hex_sha256(id.as_bytes())[..16])
    }
}

/// One counted bucket of one attempt.
struct Taken {
    bucket: String,
    window_start: i64,
}

/// Counts one hit of each `(bucket, limit)`; refuses with `rate_limited` when any is over.
/// The trace gets one row when a bucket first goes over in its window.
async fn take(
    s: &AppState,
    kind: &str,
    account: &str,
    client: &ClientAddress,
    buckets: &[(String, i64)],
) -> Result<Vec<Taken>, ApiError> {
    let window = s.settings.login.window_seconds;
    let now = s.clock.now();
    let window_start = now.div_euclid(window) * window;
    let mut taken = Vec::with_capacity(buckets.len());
    let mut over = false;
    for (bucket, limit) in buckets {
        let hits = s.db.hit_rate_window(bucket, window_start, window).await?;
        taken.push(Taken {
            bucket: bucket.clone(),
            window_start,
        });
        if hits > *limit {
            over = true;
            if hits == limit + 1 {
                tracing::warn!(kind, bucket = %bucket, "login limit reached");
                s.metrics.record_auth_failure(kind, "rate_limited");
                s.db.record_auth_failure(&AuthFailure {
                    at: now,
                    kind: kind.into(),
                    account: account.into(),
                    client: client.0.clone(),
                    result: "rate_limited".into(),
                })
                .await?;
            }
        }
    }
    if over {
        return Err(ApiError::RateLimited {
            retry_after: (window_start + window - now).max(1),
        });
    }
    Ok(taken)
}

/// Runs `check` (a check of a secret for `account`) within the limits of `kind`: refused
/// before it runs when the account or the client has failed too often; on success the
/// attempt is not counted; on a refusal it is, and it is traced. A failure of the node itself
/// (5xx) is neither counted nor traced.
pub async fn guarded<T>(
    s: &AppState,
    kind: Kind,
    account: &str,
    client: &ClientAddress,
    check: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let limits = &s.settings.login;
    let buckets = [
        (format!("login:{account}"), limits.failures_per_account),
        (
            format!("login-client:{}", client.0),
            limits.failures_per_client,
        ),
    ];
    let taken = take(s, kind.name(), account, client, &buckets).await?;
    let outcome = check.await;
    match &outcome {
        Err(e) if e.parts().0.is_client_error() => {
            let (_, code, _) = e.parts();
            tracing::info!(kind = kind.name(), code, "failed login attempt");
            s.metrics.record_auth_failure(kind.name(), code);
            s.db.record_auth_failure(&AuthFailure {
                at: s.clock.now(),
                kind: kind.name().into(),
                account: account.into(),
                client: client.0.clone(),
                result: code.into(),
            })
            .await?;
        }
        _ => {
            for t in &taken {
                s.db.give_back_rate_hit(&t.bucket, t.window_start).await?;
            }
        }
    }
    outcome
}

/// Counts one one-time code sent to `phone` at the request of `client`; every request counts,
/// refused ones too (each one costs an SMS or tries to).
pub async fn admit_code(s: &AppState, phone: &str, client: &ClientAddress) -> Result<(), ApiError> {
    let limits = &s.settings.login;
    let account = phone_account(phone);
    let buckets = [
        (format!("otp:{account}"), limits.codes_per_phone),
        (format!("otp-client:{}", client.0), limits.codes_per_client),
    ];
    take(s, "otp_send", &account, client, &buckets)
        .await
        .map(|_| ())
}
