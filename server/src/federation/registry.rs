//! The node registry: which nodes exist, where they listen and which keys they sign with.
//!
//! Routing follows the region tree (GB/T 2260) and nothing else: a certificate whose issuing
//! region lies under this node goes to the child on the path, anything else to the parent. The
//! registry only answers who that neighbour is and whether a key is one of a node's keys at a
//! given time, so a rotated key keeps verifying what it signed inside its window.

use std::collections::HashMap;

use wallet_core::{KeyId, PublicKey, RegionCode};

use crate::config::PeerSettings;

#[derive(Debug, Clone)]
pub struct Registry {
    own: RegionCode,
    peers: HashMap<RegionCode, PeerSettings>,
}

/// Where a request for something in a region goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// This node is the one to answer.
    Here,
    /// Ask this neighbour.
    Peer(RegionCode),
    /// The neighbour on the path is not in the registry.
    NoRoute(RegionCode),
}

impl Registry {
    pub fn new(own: RegionCode, peers: &[PeerSettings]) -> Self {
        Registry {
            own,
            peers: peers.iter().map(|p| (p.region, p.clone())).collect(),
        }
    }

    pub fn own(&self) -> RegionCode {
        self.own
    }

    pub fn peer(&self, region: RegionCode) -> Option<&PeerSettings> {
        self.peers.get(&region)
    }

    /// The name people see for a node, for errors such as `河南省电子证照系统暂时无法访问`.
    pub fn name_of(&self, region: RegionCode) -> String {
        self.peers
            .get(&region)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| format!("{region} 电子证照系统"))
    }

    /// The key of `region` with id `kid` that was valid at `at`.
    pub fn key(&self, region: RegionCode, kid: KeyId, at: i64) -> Option<&PublicKey> {
        self.peers
            .get(&region)?
            .keys
            .iter()
            .find(|k| k.key.key_id() == kid && k.valid_at(at))
            .map(|k| &k.key)
    }

    /// The next hop towards the node that holds what `target` names. A region with no node of
    /// its own (a county, say) is served by the nearest node above it, so the walk stops where
    /// the registry has no child on the path.
    pub fn next_hop(&self, target: RegionCode) -> NextHop {
        if target == self.own {
            return NextHop::Here;
        }
        if target.is_under(self.own) {
            return match self.own.child_towards(target) {
                Some(child) if self.peers.contains_key(&child) => NextHop::Peer(child),
                // No node for the child on the path: this node is the nearest one above.
                _ => NextHop::Here,
            };
        }
        match self.own.parent() {
            Some(parent) if self.peers.contains_key(&parent) => NextHop::Peer(parent),
            Some(parent) => NextHop::NoRoute(parent),
            None => NextHop::NoRoute(target),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PeerKey;

    fn peer(code: &str) -> PeerSettings {
        let key = wallet_core::SecretKey::from_bytes(&[7u8; 32]).unwrap();
        PeerSettings {
            region: code.parse().unwrap(),
            name: code.to_string(),
            url: "http://127.0.0.1:1".into(),
            keys: vec![PeerKey {
                key: key.public_key(),
                not_before: 100,
                not_after: Some(200),
            }],
        }
    }

    fn r(code: &str) -> RegionCode {
        code.parse().unwrap()
    }

    #[test]
    fn routes_follow_the_region_tree() {
        let peers = ["100000", "410000", "410100", "420000", "420100"].map(peer);
        let luohe = Registry::new(r("411100"), &peers);
        assert_eq!(luohe.next_hop(r("410100")), NextHop::Peer(r("410000")));
        assert_eq!(luohe.next_hop(r("411100")), NextHop::Here);
        // A district of Luohe has no node of its own: Luohe answers.
        assert_eq!(luohe.next_hop(r("411102")), NextHop::Here);
        let henan = Registry::new(r("410000"), &["100000", "410100", "411100"].map(peer));
        assert_eq!(henan.next_hop(r("410100")), NextHop::Peer(r("410100")));
        assert_eq!(henan.next_hop(r("420100")), NextHop::Peer(r("100000")));
        assert_eq!(henan.next_hop(r("100000")), NextHop::Peer(r("100000")));
        let national = Registry::new(r("100000"), &["410000", "420000"].map(peer));
        assert_eq!(national.next_hop(r("420100")), NextHop::Peer(r("420000")));
        assert_eq!(national.next_hop(r("430100")), NextHop::Here);
        let lonely = Registry::new(r("411100"), &[]);
        assert_eq!(lonely.next_hop(r("410100")), NextHop::NoRoute(r("410000")));
    }

    #[test]
    fn keys_count_only_inside_their_window() {
        let reg = Registry::new(r("411100"), &[peer("410000")]);
        let kid = wallet_core::SecretKey::from_bytes(&[7u8; 32])
            .unwrap()
            .key_id();
        assert!(reg.key(r("410000"), kid, 99).is_none());
        assert!(reg.key(r("410000"), kid, 150).is_some());
        assert!(reg.key(r("410000"), kid, 200).is_none());
        assert!(reg.key(r("410100"), kid, 150).is_none());
    }
}
