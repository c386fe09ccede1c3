//! The six nodes' configuration files, written once with fresh secrets: node keys, department
//! tokens and staff passwords are random; each file lists the other five nodes with their
//! public keys (the node registry). Residents' demo passwords are not stored anywhere: they are
//! derived from their province node's key, so the seed and the start-up banner agree without a
//! second secret file.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};
use wallet_core::{NodeKey, SecretKey};
use zeroize::Zeroizing;

use super::catalog::{directory, matters, TYPES};
use super::people::{DEPARTMENTS, ENTERPRISES, STAFF};
use super::{url, DemoError, NodeSpec, NODES};
use crate::config::FieldSpec;
use crate::db::cases::{DirectoryMatter, Matter};

#[derive(Serialize)]
struct NodeFile {
    region: String,
    name: String,
    listen: String,
    database_url: String,
    mode: &'static str,
    demo_seed: bool,
    node_key: String,
    departments: Vec<DeptFile>,
    cert_types: Vec<TypeFile>,
    enterprises: Vec<EnterpriseFile>,
    staff: Vec<StaffFile>,
    matters: Vec<Matter>,
    directory: Vec<DirectoryMatter>,
    peers: Vec<PeerFile>,
}

#[derive(Serialize)]
struct DeptFile {
    credit_code: String,
    name: String,
    token: String,
}

#[derive(Serialize)]
struct TypeFile {
    code: String,
    name: String,
    department: String,
    holder_kind: String,
    disclosable: bool,
    national: bool,
    fields: Vec<FieldSpec>,
}

#[derive(Serialize)]
struct EnterpriseFile {
    credit_code: String,
    name: String,
    legal_rep_id: String,
    admins: Vec<String>,
}

#[derive(Serialize)]
struct StaffFile {
    id: String,
    name: String,
    role: String,
    department: String,
    counter: String,
    password: String,
}

#[derive(Serialize)]
struct PeerFile {
    region: String,
    name: String,
    url: String,
    keys: Vec<PeerKeyFile>,
}

#[derive(Serialize)]
struct PeerKeyFile {
    public_key: String,
    not_before: i64,
}

/// Letters and digits that cannot be mistaken for one another when read off a screen.
const FRIENDLY: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";

fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>, DemoError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::getrandom(bytes.as_mut()).map_err(|e| DemoError::Random(e.to_string()))?;
    Ok(bytes)
}

/// Maps bytes to `FRIENDLY` by rejection sampling (248 = 8 × 31), so every symbol is equally
/// likely.
fn friendly(bytes: &[u8], out: &mut String, len: usize) {
    for &b in bytes {
        if out.len() >= len {
            return;
        }
        if b < 248 {
            out.push(char::from(FRIENDLY[usize::from(b % 31)]));
        }
    }
}

/// A random password of 10 friendly symbols (about 50 bits).
fn random_password() -> Result<String, DemoError> {
    let mut out = String::new();
    while out.len() < 10 {
        friendly(&random_bytes::<16>()?[..], &mut out, 10);
    }
    Ok(out)
}

/// The demo password of a resident's wallet account at the province whose node key is given:
/// SHA-256 over a label, the key's seed and the resident ID, as 10 friendly symbols.
pub fn resident_password(node_key: &NodeKey, resident_id: &str) -> String {
    let mut out = String::new();
    let mut round = 0u8;
    while out.len() < 10 {
        let mut h = Sha256::new();
        h.update(b"cn.e-cert.demo.resident-password.v1\0");
        h.update(&node_key.to_bytes()[..]);
        h.update([round]);
        h.update(resident_id.as_bytes());
        friendly(&h.finalize(), &mut out, 10);
        round = round.wrapping_add(1);
    }
    out
}

fn file_for(
    node: &NodeSpec,
    listen: String,
    database_url: String,
    node_key: String,
    peers: Vec<PeerFile>,
) -> Result<NodeFile, DemoError> {
    let region = node.region;
    let departments = DEPARTMENTS
        .iter()
        .filter(|d| d.node == region)
        .map(|d| {
            Ok(DeptFile {
                credit_code: d.credit_code()?.to_string(),
                name: d.name.into(),
                token: B64.encode(&random_bytes::<24>()?[..]),
            })
        })
        .collect::<Result<Vec<_>, DemoError>>()?;
    let cert_types = TYPES
        .iter()
        .filter(|t| t.dept.node == region)
        .map(|t| {
            Ok(TypeFile {
                code: t.code()?,
                name: t.name.into(),
                department: t.dept.credit_code()?.to_string(),
                holder_kind: t.holder_kind.into(),
                disclosable: t.disclosable,
                national: t.national,
                fields: t
                    .fields
                    .iter()
                    .map(|&(name, required, disclosable)| FieldSpec {
                        name: name.into(),
                        required,
                        disclosable,
                    })
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, DemoError>>()?;
    let enterprises = ENTERPRISES
        .iter()
        .filter(|e| e.nodes.contains(&region))
        .map(|e| {
            Ok(EnterpriseFile {
                credit_code: e.credit_code()?.to_string(),
                name: e.name.into(),
                legal_rep_id: e.legal_rep.resident_id()?.to_string(),
                admins: e
                    .admins
                    .iter()
                    .map(|p| Ok(p.resident_id()?.to_string()))
                    .collect::<Result<_, DemoError>>()?,
            })
        })
        .collect::<Result<Vec<_>, DemoError>>()?;
    let staff = STAFF
        .iter()
        .filter(|s| s.node == region)
        .map(|s| {
            Ok(StaffFile {
                id: s.id.into(),
                name: s.name.into(),
                role: s.role.into(),
                department: s.dept.credit_code()?.to_string(),
                counter: s.counter.into(),
                password: random_password()?,
            })
        })
        .collect::<Result<Vec<_>, DemoError>>()?;
    Ok(NodeFile {
        region: region.into(),
        name: node.name.into(),
        listen,
        database_url,
        mode: "demo",
        demo_seed: true,
        node_key,
        departments,
        cert_types,
        enterprises,
        staff,
        matters: matters(region)?,
        directory: directory(region)?,
        peers,
    })
}

/// The six files' text, in `NODES` order, with fresh secrets. `database_url` names each node's
/// database.
pub(super) fn render_all(
    base_port: u16,
    database_url: impl Fn(&NodeSpec) -> String,
) -> Result<Vec<String>, DemoError> {
    let seeds = NODES
        .iter()
        .map(|_| random_bytes::<32>())
        .collect::<Result<Vec<_>, _>>()?;
    let public_keys = seeds
        .iter()
        .map(|seed| Ok(SecretKey::from_bytes(&seed[..])?.public_key().to_string()))
        .collect::<Result<Vec<_>, DemoError>>()?;
    let mut texts = Vec::with_capacity(NODES.len());
    for (i, node) in NODES.iter().enumerate() {
        let peers = NODES
            .iter()
            .zip(&public_keys)
            .filter(|(other, _)| other.region != node.region)
            .map(|(other, key)| {
                Ok(PeerFile {
                    region: other.region.into(),
                    name: other.name.into(),
                    url: url(other, base_port)?,
                    keys: vec![PeerKeyFile {
                        public_key: key.clone(),
                        not_before: 0,
                    }],
                })
            })
            .collect::<Result<Vec<_>, DemoError>>()?;
        let file = file_for(
            node,
            format!("127.0.0.1:{}", super::port(node, base_port)?),
            database_url(node),
            B64.encode(&seeds[i][..]),
            peers,
        )?;
        texts.push(format!(
            "# {} ({}), a node of the demo federation, generated by `server demo`.\n\
             # The keys, tokens and passwords below are random and for this demo only: keep\n\
             # this file out of version control. Regenerate with `server demo --write-configs`.\n\n{}",
            node.name,
            node.region,
            toml::to_string(&file)?
        ));
    }
    Ok(texts)
}
