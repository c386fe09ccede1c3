//! Who is searching, for the rate limit, and how often they may.
//!
//! A client is the address the TCP connection comes from. Behind the government gateway every
//! connection comes from the gateway, so a node may name its gateways (`trusted_proxies`); only
//! for a connection from one of them is the forwarded header believed, read from the right and
//! past any further trusted hop, as each proxy appends the address it saw. An IPv6 client is
//! its /64, which one household or phone usually owns whole. The counts live in the database
//! (`db::rate_limit`), so every process of the node counts against the same limit.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::error::ApiError;
use crate::state::AppState;

/// The window of the search limit, in seconds.
pub const WINDOW: i64 = 60;

/// `[public]` in a node's file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPublicSettings {
    #[serde(default = "default_per_minute")]
    searches_per_minute: i64,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default = "default_header")]
    client_ip_header: String,
}

impl Default for RawPublicSettings {
    fn default() -> Self {
        RawPublicSettings {
            searches_per_minute: default_per_minute(),
            trusted_proxies: Vec::new(),
            client_ip_header: default_header(),
        }
    }
}

fn default_per_minute() -> i64 {
    30
}

fn default_header() -> String {
    "x-forwarded-for".into()
}

/// An address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    pub fn parse(s: &str) -> Option<Net> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = s.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Net { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> (u128, u8) {
            match ip {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        };
        let (a, wa) = bits(self.addr);
        let (b, wb) = bits(canonical(ip));
        if wa != wb {
            return false;
        }
        let mask = u128::MAX
            .checked_shl(u32::from(128 - self.prefix))
            .unwrap_or(0);
        self.prefix == 0 || (a & mask) == (b & mask)
    }
}

/// The public search's settings, validated.
#[derive(Debug, Clone)]
pub struct PublicSettings {
    pub searches_per_minute: i64,
    pub trusted_proxies: Vec<Net>,
    /// Lower case, e.g. `x-forwarded-for` or `x-real-ip`.
    pub client_ip_header: String,
}

impl Default for PublicSettings {
    fn default() -> Self {
        PublicSettings {
            searches_per_minute: default_per_minute(),
            trusted_proxies: Vec::new(),
            client_ip_header: default_header(),
        }
    }
}

impl PublicSettings {
    pub fn from_raw(raw: RawPublicSettings) -> Result<PublicSettings, ConfigError> {
        let invalid = |setting, why: String| ConfigError::Invalid(setting, why);
        if !(1..=100_000).contains(&raw.searches_per_minute) {
            return Err(invalid(
                "public.searches_per_minute",
                "between 1 and 100000".into(),
            ));
        }
        let trusted_proxies = raw
            .trusted_proxies
            .iter()
            .map(|p| {
                Net::parse(p).ok_or_else(|| {
                    invalid(
                        "public.trusted_proxies",
                        format!("{p:?} is neither an IP address nor a CIDR block"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let header = raw.client_ip_header.to_ascii_lowercase();
        if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err(invalid(
                "public.client_ip_header",
                format!("{header:?} is not a header name"),
            ));
        }
        Ok(PublicSettings {
            searches_per_minute: raw.searches_per_minute,
            trusted_proxies,
            client_ip_header: header,
        })
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(ip))
    }

    /// The client behind a connection from `peer` that carried `forwarded` (the configured
    /// header's value, if any).
    pub fn client_of(&self, peer: IpAddr, forwarded: Option<&str>) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusted(peer) {
            return peer;
        }
        let Some(list) = forwarded else { return peer };
        let mut client = peer;
        for hop in list.rsplit(',') {
            match parse_hop(hop) {
                // Garbage in the chain: stop at the last address a trusted hop vouched for.
                None => break,
                Some(ip) => {
                    client = ip;
                    if !self.trusted(ip) {
                        break;
                    }
                }
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses are the IPv4 client they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One address of a forwarded chain: `203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// The bucket a client's searches count in: the IPv4 address, or the IPv6 /64.
pub fn bucket_of(client: IpAddr) -> String {
    format!("search:{}", address_of(client))
}

/// A client as every per-client limit counts it: the IPv4 address, or the IPv6 /64.
pub fn address_of(client: IpAddr) -> String {
    match canonical(client) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The searching client, as the rate limit counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicClient {
    /// `search:<address>`, or `search:unknown` when the server was started without connection
    /// information (every such request then shares one limit).
    pub bucket: String,
}

impl FromRequestParts<AppState> for PublicClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let settings = &s.settings.public;
        let bucket = match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => {
                let forwarded = parts
                    .headers
                    .get(settings.client_ip_header.as_str())
                    .and_then(|v| v.to_str().ok());
                bucket_of(settings.client_of(peer.ip(), forwarded))
            }
            None => "search:unknown".to_owned(),
        };
        Ok(PublicClient { bucket })
    }
}

/// Counts one search of `client`; refuses it with `rate_limited` and the seconds until the
/// window ends when the client is over the node's limit.
pub async fn admit(s: &AppState, client: &PublicClient) -> Result<(), ApiError> {
    let now = s.clock.now();
    let window_start = now.div_euclid(WINDOW) * WINDOW;
    let hits =
        s.db.hit_rate_window(&client.bucket, window_start, WINDOW)
            .await?;
    if hits > s.settings.public.searches_per_minute {
        return Err(ApiError::RateLimited {
            retry_after: (window_start + WINDOW - now).max(1),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn behind(proxies: &[&str]) -> PublicSettings {
        PublicSettings::from_raw(RawPublicSettings {
            trusted_proxies: proxies.iter().map(|p| (*p).to_owned()).collect(),
            ..RawPublicSettings::default()
        })
        .unwrap()
    }

    #[test]
    fn the_forwarded_header_counts_only_from_a_trusted_gateway() {
        let direct = behind(&[]);
        assert_eq!(
            direct.client_of(ip("198.51.100.9"), Some("203.0.113.7")),
            ip("198.51.100.9")
        );
        let gw = behind(&["10.0.0.0/8", "192.0.2.1"]);
        assert_eq!(
            gw.client_of(ip("10.1.2.3"), Some("203.0.113.7")),
            ip("203.0.113.7")
        );
        // A client may write its own header; the gateway appends what it saw, read from the right.
        assert_eq!(
            gw.client_of(ip("10.1.2.3"), Some("1.1.1.1, 203.0.113.7, 192.0.2.1")),
            ip("203.0.113.7")
        );
        assert_eq!(
            gw.client_of(ip("10.1.2.3"), Some("[2001:db8::1]:443")),
            ip("2001:db8::1")
        );
        assert_eq!(gw.client_of(ip("10.1.2.3"), None), ip("10.1.2.3"));
        assert_eq!(
            gw.client_of(ip("10.1.2.3"), Some("not an address")),
            ip("10.1.2.3")
        );
        assert_eq!(
            gw.client_of(ip("::ffff:10.1.2.3"), Some("203.0.113.7")),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        assert_eq!(
            bucket_of(ip("2001:db8:1:2:aaaa::1")),
            bucket_of(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            bucket_of(ip("2001:db8:1:2::1")),
            bucket_of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(bucket_of(ip("::ffff:203.0.113.7")), "search:203.0.113.7");
    }

    #[test]
    fn settings_name_what_is_wrong() {
        let err = |raw: RawPublicSettings| PublicSettings::from_raw(raw).unwrap_err().to_string();
        assert!(err(RawPublicSettings {
            trusted_proxies: vec!["10.0.0.0/33".into()],
            ..RawPublicSettings::default()
        })
        .contains("public.trusted_proxies"));
        assert!(err(RawPublicSettings {
            searches_per_minute: 0,
            ..RawPublicSettings::default()
        })
        .contains("public.searches_per_minute"));
        assert!(err(RawPublicSettings {
            client_ip_header: "bad header".into(),
            ..RawPublicSettings::default()
        })
        .contains("public.client_ip_header"));
    }
}
