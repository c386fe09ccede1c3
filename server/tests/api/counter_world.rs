//! Everyone in scenario 1 on one node — a holder and a grantee with device keys, the crane
//! operator certificate, a logged-in clerk — and the steps they take. Shared by the counter's
//! behaviour tests and the attack suite.
#![allow(dead_code)]

use serde_json::{json, Value};
use wallet_core::grant::GrantTerms;
use wallet_core::{
    CertId, DeviceKey, GrantId, Grantee, Holder, MatterScope, Presentation, RegionCode, Subject,
};

use crate::helpers::*;

/// Everyone in the scenario, on one node.
pub struct World {
    pub app: TestApp,
    pub holder_token: String,
    pub holder_key: DeviceKey,
    pub grantee_token: String,
    pub grantee_key: DeviceKey,
    pub cert_id: CertId,
    pub clerk: String,
}

pub async fn world(backend: server::db::Backend) -> World {
    let app = spawn_app(backend).await;
    let cert_id: CertId = app.issue_crane_certificate().await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (holder_token, holder_key) = app.citizen_with_device(&person(), "张三", PHONE).await;
    let (grantee_token, grantee_key) = app
        .citizen_with_device(&grantee(), "李四", GRANTEE_PHONE)
        .await;
    let clerk = app.clerk_login().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        app,
        holder_token,
        holder_key,
        grantee_token,
        grantee_key,
        cert_id,
        clerk,
    }
}

impl World {
    pub fn terms(&self, matters: MatterScope, use_limit: Option<u32>) -> GrantTerms {
        GrantTerms {
            id: GrantId::generate().unwrap(),
            cert_id: self.cert_id.clone(),
            holder: Holder::Person(person().parse().unwrap()),
            grantee: Grantee {
                resident_id: grantee().parse().unwrap(),
                name: "李四".into(),
                enterprise: None,
            },
            matters,
            not_before: START,
            not_after: START + 86400,
            use_limit,
        }
    }

    /// Step (2) before the counter: the holder signs a grant on the phone and stores it.
    pub async fn grant(&self, matters: MatterScope, use_limit: Option<u32>) -> GrantId {
        let terms = self.terms(matters, use_limit);
        let id = terms.id;
        let grant = terms.sign(&self.holder_key).unwrap();
        let (status, body) = self
            .app
            .post(
                "/api/wallet/grants",
                Some(&self.holder_token),
                &json!({"grant": String::from(grant)}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        id
    }

    pub fn show(&self, key: &DeviceKey, subject: Subject) -> String {
        let now = self.app.time.load(std::sync::atomic::Ordering::SeqCst);
        Presentation::sign(key, RegionCode::new(410100).unwrap(), subject, now, 60)
            .unwrap()
            .encode_text()
    }

    pub async fn open_case(&self, matter: &str) -> String {
        let (status, body) = self
            .app
            .post(
                "/api/counter/cases",
                Some(&self.clerk),
                &json!({"matter": matter}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["case"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn scan(&self, case: &str, text: &str) -> (u16, Value) {
        self.app
            .post(
                &format!("/api/counter/cases/{case}/retrievals"),
                Some(&self.clerk),
                &json!({"text": text}),
            )
            .await
    }

    pub async fn audit_results(&self) -> Vec<String> {
        let entries = self.app.state.db.audit_entries(0, 1000).await.unwrap();
        entries
            .into_iter()
            .filter(|e| e.entry.action == "retrieval")
            .map(|e| e.entry.result)
            .collect()
    }
}
