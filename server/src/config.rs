//! Node configuration: a TOML file, then `NODE_*` environment overrides, into typed settings
//! validated at start-up. Anything wrong stops the node with a message naming the setting.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::Deserialize;
use wallet_core::{CreditCode, NodeKey, PublicKey, RegionCode, SecretKey, Tier};

/// A value that must not reach a log: `Debug` and `Display` print a placeholder.
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Seeded synthetic data, demo SMS sender and liveness check, labelled as such.
    Demo,
    /// Refuses to start with any demo stand-in.
    Production,
}

/// Which implementation of an outside service a node uses. Only the demo ones exist so far;
/// production mode refuses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    #[default]
    Demo,
}

/// A counter clerk or back-office reviewer account.
#[derive(Clone, Debug, Deserialize)]
pub struct StaffSettings {
    pub id: String,
    pub name: String,
    /// `clerk` or `reviewer`.
    pub role: String,
    pub department: String,
    /// 窗口, e.g. `漯河市民之家 3号窗口`.
    #[serde(default)]
    pub counter: String,
    pub password: Secret,
}

/// An enterprise with its legal representative and appointed certificate administrators.
#[derive(Clone, Debug, Deserialize)]
pub struct EnterpriseSettings {
    pub credit_code: String,
    pub name: String,
    pub legal_rep_id: String,
    #[serde(default)]
    pub admins: Vec<String>,
}

/// A department whose business system issues certificates through this node.
#[derive(Clone, Debug, Deserialize)]
pub struct DepartmentSettings {
    pub credit_code: String,
    pub name: String,
    /// The bearer token its business system presents; only a hash is stored.
    pub token: Secret,
}

/// One field of a certificate type's schema.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: String,
    #[serde(default)]
    pub required: bool,
    /// Shown in public disclosure (社会公示) for disclosable types.
    #[serde(default)]
    pub disclosable: bool,
}

/// A catalog entry (证照目录).
#[derive(Clone, Debug, Deserialize)]
pub struct CertTypeSettings {
    /// 21-character type code: ministry credit code + 3 digits.
    pub code: String,
    pub name: String,
    /// Credit code of the department that issues it at this node.
    pub department: String,
    /// `person` or `enterprise`.
    pub holder_kind: String,
    #[serde(default)]
    pub disclosable: bool,
    /// Listed in the national catalog: its metadata is pushed to the national node as well as
    /// to the province.
    #[serde(default)]
    pub national: bool,
    pub fields: Vec<FieldSpec>,
}

/// One public key of a peer node with the window in which it signs, so a node key can be
/// rotated without downtime: the new key is listed before it is used, the old one keeps a
/// `not_after` until the calls it signed have expired.
#[derive(Clone, Debug, Deserialize)]
struct RawPeerKey {
    public_key: String,
    #[serde(default)]
    not_before: i64,
    #[serde(default)]
    not_after: Option<i64>,
}

/// An entry of the node registry as written in the file.
#[derive(Clone, Debug, Deserialize)]
struct RawPeer {
    region: String,
    #[serde(default)]
    name: String,
    url: String,
    keys: Vec<RawPeerKey>,
}

/// A node key of a peer and its validity window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerKey {
    pub key: PublicKey,
    pub not_before: i64,
    pub not_after: Option<i64>,
}

impl PeerKey {
    pub fn valid_at(&self, t: i64) -> bool {
        t >= self.not_before && self.not_after.is_none_or(|end| t < end)
    }
}

/// A node this node may call or accept calls from (the node registry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSettings {
    pub region: RegionCode,
    /// Shown in errors that name an unreachable tier, e.g. `河南省电子证照系统`.
    pub name: String,
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:8410`.
    pub url: String,
    pub keys: Vec<PeerKey>,
}

#[derive(Debug, Deserialize)]
struct RawSettings {
    region: String,
    #[serde(default)]
    name: String,
    listen: String,
    database_url: String,
    mode: Mode,
    node_key: Secret,
    #[serde(default)]
    departments: Vec<DepartmentSettings>,
    #[serde(default)]
    cert_types: Vec<CertTypeSettings>,
    #[serde(default)]
    staff: Vec<StaffSettings>,
    #[serde(default)]
    matters: Vec<crate::db::cases::Matter>,
    #[serde(default)]
    directory: Vec<crate::db::cases::DirectoryMatter>,
    #[serde(default)]
    enterprises: Vec<EnterpriseSettings>,
    #[serde(default)]
    sms: Provider,
    #[serde(default)]
    liveness: Provider,
    #[serde(default)]
    peers: Vec<RawPeer>,
    #[serde(default)]
    demo_seed: bool,
    #[serde(default)]
    public: crate::disclosure::client::RawPublicSettings,
    #[serde(default)]
    login: crate::auth::throttle::RawLoginSettings,
}

/// Validated settings of one node.
#[derive(Debug, Clone)]
pub struct Settings {
    pub region: RegionCode,
    pub tier: Tier,
    pub name: String,
    pub listen: SocketAddr,
    pub database_url: Secret,
    pub mode: Mode,
    /// The node's own key (receipts, bindings, session tokens); `Debug` hides it.
    pub node_key: Arc<NodeKey>,
    pub departments: Vec<DepartmentSettings>,
    pub cert_types: Vec<CertTypeSettings>,
    pub staff: Vec<StaffSettings>,
    pub matters: Vec<crate::db::cases::Matter>,
    /// At a province: the matters its cities' counters handle (省级事项目录), which the wallet
    /// offers when a holder names a grant's matters.
    pub directory: Vec<crate::db::cases::DirectoryMatter>,
    pub enterprises: Vec<EnterpriseSettings>,
    pub sms: Provider,
    pub liveness: Provider,
    /// The node registry: every other node this one talks to, with its keys.
    pub peers: Vec<PeerSettings>,
    /// Seed the demo federation's synthetic people, certificates and sharing-platform records
    /// for this node's region at start (`demo::seed`); refused in production mode.
    pub demo_seed: bool,
    /// The public search (社会公示): per-client limit, trusted gateways (`[public]`).
    pub public: crate::disclosure::client::PublicSettings,
    /// Brute-force limits on logins and one-time codes (`[login]`).
    pub login: crate::auth::throttle::LoginSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("setting `{0}`: {1}")]
    Invalid(&'static str, String),
}

fn invalid(setting: &'static str, why: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid(setting, why.to_string())
}

impl Settings {
    /// Reads `path`, applies `NODE_REGION`, `NODE_NAME`, `NODE_LISTEN`, `NODE_DATABASE_URL`,
    /// `NODE_MODE` and `NODE_KEY` from `env`, and validates the result.
    pub fn load(path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, env)
    }

    pub fn from_toml(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut raw: RawSettings = toml::from_str(text)?;
        if let Some(v) = env("NODE_REGION") {
            raw.region = v;
        }
        if let Some(v) = env("NODE_NAME") {
            raw.name = v;
        }
        if let Some(v) = env("NODE_LISTEN") {
            raw.listen = v;
        }
        if let Some(v) = env("NODE_DATABASE_URL") {
            raw.database_url = v;
        }
        if let Some(v) = env("NODE_MODE") {
            raw.mode = match v.as_str() {
                "demo" => Mode::Demo,
                "production" => Mode::Production,
                other => {
                    return Err(invalid(
                        "mode",
                        format!("{other:?} is neither demo nor production"),
                    ))
                }
            };
        }
        if let Some(v) = env("NODE_KEY") {
            raw.node_key = Secret::new(v);
        }
        Self::validate(raw)
    }

    fn validate(raw: RawSettings) -> Result<Self, ConfigError> {
        let region: RegionCode = raw.region.parse().map_err(|e| invalid("region", e))?;
        let listen = raw.listen.parse().map_err(|e| invalid("listen", e))?;
        let url = &raw.database_url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        }
        let node_key = Arc::new(node_key_from(&raw.node_key).map_err(|e| invalid("node_key", e))?);
        for d in &raw.departments {
            let code: CreditCode = d
                .credit_code
                .parse()
                .map_err(|e| invalid("departments.credit_code", e))?;
            let r = code.region();
            if r != region && !r.is_under(region) {
                return Err(invalid(
                    "departments.credit_code",
                    format!("{code} lies in {r}, outside this node's {region}"),
                ));
            }
            if d.token.expose().len() < 16 {
                return Err(invalid(
                    "departments.token",
                    format!("{code}: at least 16 characters"),
                ));
            }
        }
        for t in &raw.cert_types {
            let ministry = t.code.get(..18).unwrap_or("");
            if t.code.len() != 21
                || ministry.parse::<CreditCode>().is_err()
                || !t.code[18..].bytes().all(|b| b.is_ascii_digit())
            {
                return Err(invalid(
                    "cert_types.code",
                    format!("{:?} is not a 21-character type code", t.code),
                ));
            }
            if !raw
                .departments
                .iter()
                .any(|d| d.credit_code == t.department)
            {
                return Err(invalid(
                    "cert_types.department",
                    format!("{} is not a department of this node", t.department),
                ));
            }
            if !matches!(t.holder_kind.as_str(), "person" | "enterprise") {
                return Err(invalid("cert_types.holder_kind", "person or enterprise"));
            }
        }
        for st in &raw.staff {
            if !matches!(st.role.as_str(), "clerk" | "reviewer") {
                return Err(invalid(
                    "staff.role",
                    format!("{}: clerk or reviewer", st.id),
                ));
            }
            if st.password.expose().len() < 8 {
                return Err(invalid(
                    "staff.password",
                    format!("{}: at least 8 characters", st.id),
                ));
            }
        }
        for e in &raw.enterprises {
            e.credit_code
                .parse::<CreditCode>()
                .map_err(|err| invalid("enterprises.credit_code", err))?;
            for person in std::iter::once(&e.legal_rep_id).chain(&e.admins) {
                person
                    .parse::<wallet_core::ResidentId>()
                    .map_err(|err| invalid("enterprises.legal_rep_id/admins", err))?;
            }
        }
        for m in raw
            .matters
            .iter()
            .chain(raw.directory.iter().map(|d| &d.matter))
        {
            if m.code.is_empty()
                || m.code.len() > 64
                || !m
                    .code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(invalid(
                    "matters.code",
                    format!("{:?}: 1 to 64 letters, digits, '-', '_' or '.'", m.code),
                ));
            }
        }
        for d in &raw.directory {
            let at: RegionCode = d
                .region
                .parse()
                .map_err(|e| invalid("directory.region", e))?;
            if !at.is_under(region) {
                return Err(invalid(
                    "directory.region",
                    format!("{at} is not under this node's region {region}"),
                ));
            }
        }
        if raw.mode == Mode::Production {
            if raw.demo_seed {
                return Err(invalid(
                    "demo_seed",
                    "synthetic demo data has no place in a production node",
                ));
            }
            if raw.sms == Provider::Demo {
                return Err(invalid(
                    "sms",
                    "the demo SMS sender shows codes on screen; production needs a real gateway",
                ));
            }
            if raw.liveness == Provider::Demo {
                return Err(invalid(
                    "liveness",
                    "the demo liveness check is not a real one; production needs a real provider",
                ));
            }
        }
        let peers = validate_peers(&raw.peers, region)?;
        let public = crate::disclosure::client::PublicSettings::from_raw(raw.public)?;
        let login = crate::auth::throttle::LoginSettings::from_raw(raw.login)?;
        let name = if raw.name.is_empty() {
            format!("{region} 电子证照系统")
        } else {
            raw.name
        };
        Ok(Settings {
            region,
            tier: region.tier(),
            name,
            listen,
            database_url: Secret::new(raw.database_url),
            mode: raw.mode,
            node_key,
            departments: raw.departments,
            cert_types: raw.cert_types,
            staff: raw.staff,
            matters: raw.matters,
            directory: raw.directory,
            enterprises: raw.enterprises,
            sms: raw.sms,
            liveness: raw.liveness,
            peers,
            demo_seed: raw.demo_seed,
            public,
            login,
        })
    }
}

fn validate_peers(raw: &[RawPeer], own: RegionCode) -> Result<Vec<PeerSettings>, ConfigError> {
    let mut peers: Vec<PeerSettings> = Vec::with_capacity(raw.len());
    for p in raw {
        let region: RegionCode = p.region.parse().map_err(|e| invalid("peers.region", e))?;
        if region == own || peers.iter().any(|q| q.region == region) {
            return Err(invalid(
                "peers.region",
                format!("{region} is listed twice or is this node itself"),
            ));
        }
        let url = p.url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(invalid(
                "peers.url",
                format!("{region}: {url:?} is not an http(s) URL"),
            ));
        }
        if p.keys.is_empty() {
            return Err(invalid("peers.keys", format!("{region}: no public key")));
        }
        let mut keys = Vec::with_capacity(p.keys.len());
        for k in &p.keys {
            let key: PublicKey = k
                .public_key
                .trim()
                .parse()
                .map_err(|e| invalid("peers.keys.public_key", format!("{region}: {e}")))?;
            if matches!(k.not_after, Some(end) if end <= k.not_before) {
                return Err(invalid(
                    "peers.keys.not_after",
                    format!("{region}: ends before it begins"),
                ));
            }
            keys.push(PeerKey {
                key,
                not_before: k.not_before,
                not_after: k.not_after,
            });
        }
        peers.push(PeerSettings {
            region,
            name: if p.name.is_empty() {
                format!("{region} 电子证照系统")
            } else {
                p.name.clone()
            },
            url: url.to_owned(),
            keys,
        });
    }
    Ok(peers)
}

fn node_key_from(seed: &Secret) -> Result<NodeKey, String> {
    let bytes = B64
        .decode(seed.expose())
        .map_err(|_| "must be base64url (no padding) of 32 bytes".to_string())?;
    SecretKey::from_bytes(&bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        region = "410100"
        listen = "127.0.0.1:0"
        database_url = "sqlite::memory:"
        mode = "demo"
        node_key = "ERERERERERERERERERERERERERERERERERERERERERE"
    "#;

    #[test]
    fn a_valid_file_loads_and_env_overrides_it() {
        let s = Settings::from_toml(GOOD, |_| None).unwrap();
        assert_eq!(s.region.to_string(), "410100");
        assert_eq!(s.tier, Tier::City);
        let s =
            Settings::from_toml(GOOD, |k| (k == "NODE_REGION").then(|| "410000".into())).unwrap();
        assert_eq!(s.tier, Tier::Province);
    }

    #[test]
    fn errors_name_the_setting() {
        let err = |f: &dyn Fn(&str) -> Option<String>| {
            Settings::from_toml(GOOD, f).unwrap_err().to_string()
        };
        assert!(err(&|k| (k == "NODE_REGION").then(|| "41010".into())).contains("`region`"));
        assert!(
            err(&|k| (k == "NODE_DATABASE_URL").then(|| "mysql://x".into()))
                .contains("`database_url`")
        );
        assert!(err(&|k| (k == "NODE_KEY").then(|| "short".into())).contains("`node_key`"));
        assert!(err(&|k| (k == "NODE_MODE").then(|| "test".into())).contains("`mode`"));
    }

    #[test]
    fn production_mode_refuses_the_demo_stand_ins() {
        let err = Settings::from_toml(GOOD, |k| (k == "NODE_MODE").then(|| "production".into()))
            .unwrap_err();
        assert!(err.to_string().contains("`sms`"), "{err}");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings::from_toml(GOOD, |_| None).unwrap();
        assert!(!format!("{s:?}").contains("ERERER"));
    }
}
