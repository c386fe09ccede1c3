//! The electronic business licence's chain at the wallet node: the legal representative
//! appoints and removes certificate administrators (证照管理员); an administrator finds, shows and
//! grants the enterprise's certificates; an agent (经办人) cannot pass a grant on; everyone acting
//! for the enterprise sees its certificates' uses; a case shows which of the matter's materials
//! the attached e-certificates replaced.

use serde_json::{json, Value};
use server::config::Settings;
use wallet_core::grant::GrantTerms;
use wallet_core::{
    CertId, DeviceKey, GrantId, Grantee, Holder, MatterScope, Presentation, RegionCode, ResidentId,
    Subject,
};

use crate::both_backends;
use crate::helpers::*;
use crate::support;

/// A matter of this node's counter that the business licence replaces a material of.
const LICENCE_MATTER: &str = "410100-ZJ-0001";
const FIRM_NAME: &str = "漯河市起重机械安装有限公司";

fn with_licence_matter(url: &str) -> Settings {
    let mut s = settings(url);
    support::nodes::add_toml(
        &mut s,
        &format!(
            r#"
[[matters]]
code = "{LICENCE_MATTER}"
name = "建筑业企业资质"
department = "{amr}"
materials = [
  {{ name = "建筑业企业资质申请表" }},
  {{ name = "营业执照", cert_type = "{LICENCE_TYPE}", fields = ["名称"] }},
]
"#,
            amr = amr()
        ),
    );
    s
}

/// 王五: in the population registry, not yet acting for the enterprise.
fn newcomer() -> String {
    ResidentId::with_check_digit("41110219920202001")
        .unwrap()
        .to_string()
}

/// 赵六: the agent the enterprise lends its licence to.
fn agent() -> String {
    ResidentId::with_check_digit("41110219930303002")
        .unwrap()
        .to_string()
}

/// The enterprise with its licence issued here, its legal representative 张三, the administrator
/// of the node's configuration 李四, the newcomer 王五, the agent 赵六 and a counter clerk.
struct Firm {
    app: TestApp,
    licence: CertId,
    rep: (String, DeviceKey),
    admin: (String, DeviceKey),
    newcomer: (String, DeviceKey),
    agent: (String, DeviceKey),
    clerk: String,
}

async fn firm_world(backend: server::db::Backend) -> Firm {
    let app = spawn_made(backend, with_licence_matter).await;
    let (status, issued) = app
        .post(
            "/api/issuer/certificates",
            Some(TOKEN),
            &json!({
                "type_code": LICENCE_TYPE, "holder_kind": "enterprise", "holder_id": firm(),
                "holder_name": FIRM_NAME, "valid_from": START - 86400, "valid_until": null,
                "fields": {"名称": FIRM_NAME, "住所": "漯河市源汇区某路2号"}
            }),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let rep = app.citizen_with_device(&person(), "张三", PHONE).await;
    let admin = app
        .citizen_with_device(&grantee(), "李四", GRANTEE_PHONE)
        .await;
    let newcomer = app
        .citizen_with_device(&newcomer(), "王五", "13700137000")
        .await;
    let agent = app
        .citizen_with_device(&agent(), "赵六", "13600136000")
        .await;
    let clerk = app.clerk_login().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Firm {
        licence: issued["id"].as_str().unwrap().parse().unwrap(),
        app,
        rep,
        admin,
        newcomer,
        agent,
        clerk,
    }
}

fn code_of(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

impl Firm {
    async fn appoint(&self, token: &str, id: &str, name: &str) -> (u16, Value) {
        self.app
            .post(
                &format!("/api/wallet/enterprise/{}/admins", firm()),
                Some(token),
                &json!({"resident_id": id, "name": name}),
            )
            .await
    }

    async fn remove(&self, token: &str, id: &str) -> (u16, Value) {
        self.app
            .post(
                &format!("/api/wallet/enterprise/{}/admins/{id}/remove", firm()),
                Some(token),
                &json!({}),
            )
            .await
    }

    async fn search(&self, token: &str) -> (u16, Value) {
        self.app
            .get_as(&format!("/api/wallet/enterprise?q={}", firm()), token)
            .await
    }

    /// `signer` signs a grant of the licence to the agent and stores it.
    async fn grant(&self, signer: &(String, DeviceKey), matters: MatterScope) -> (u16, GrantId) {
        let terms = GrantTerms {
            id: GrantId::generate().unwrap(),
            cert_id: self.licence.clone(),
            holder: Holder::Enterprise(firm().parse().unwrap()),
            grantee: Grantee {
                resident_id: agent().parse().unwrap(),
                name: "赵六".into(),
                enterprise: Some(firm().parse().unwrap()),
            },
            matters,
            not_before: START,
            not_after: START + 86400,
            use_limit: None,
        };
        let id = terms.id;
        let (status, body) = self
            .app
            .post(
                "/api/wallet/grants",
                Some(&signer.0),
                &json!({"grant": String::from(terms.sign(&signer.1).unwrap())}),
            )
            .await;
        assert!(status == 201 || status == 403, "{body}");
        (status, id)
    }

    fn show(&self, key: &DeviceKey, subject: Subject) -> String {
        let now = self.app.time.load(std::sync::atomic::Ordering::SeqCst);
        Presentation::sign(key, RegionCode::new(410100).unwrap(), subject, now, 60)
            .unwrap()
            .encode_text()
    }

    /// Opens a case for the matter and scans the code; returns the case and the answer.
    async fn scan(&self, matter: &str, text: &str) -> (String, u16, Value) {
        let (status, opened) = self
            .app
            .post(
                "/api/counter/cases",
                Some(&self.clerk),
                &json!({"matter": matter}),
            )
            .await;
        assert_eq!(status, 201, "{opened}");
        let case = opened["case"]["id"].as_str().unwrap().to_owned();
        let (status, body) = self
            .app
            .post(
                &format!("/api/counter/cases/{case}/retrievals"),
                Some(&self.clerk),
                &json!({"text": text}),
            )
            .await;
        (case, status, body)
    }

    /// The agent shows the grant for the licence matter.
    async fn agent_scan(&self, grant: GrantId) -> (u16, Value) {
        let text = self.show(&self.agent.1, Subject::Grant(grant));
        let (_, status, body) = self.scan(LICENCE_MATTER, &text).await;
        (status, body)
    }

    async fn audited(&self, action: &str) -> usize {
        let db = &self.app.state.db;
        assert!(db.verify_audit_chain().await.unwrap().is_ok());
        db.audit_entries(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.entry.action == action)
            .count()
    }
}

both_backends!(
    only_the_legal_representative_appoints_administrators_and_only_people_the_registry_knows,
    |backend| async move {
        let f = firm_world(backend).await;
        let (rep, admin, wang) = (&f.rep.0, &f.admin.0, &f.newcomer.0);
        // Before the appointment 王五 is a stranger to the enterprise.
        let (status, body) = f.search(wang).await;
        assert_eq!((status, code_of(&body)), (404, "enterprise_not_found"));
        // Only the legal representative appoints: an administrator is refused, a stranger
        // learns nothing.
        let (status, body) = f.appoint(admin, &newcomer(), "王五").await;
        assert_eq!((status, code_of(&body)), (403, "legal_rep_only"));
        let (status, body) = f.appoint(wang, &newcomer(), "王五").await;
        assert_eq!((status, code_of(&body)), (404, "enterprise_not_found"));
        // The appointee is someone the population registry knows under that name, not the
        // legal representative himself, with a well-formed ID and credit code.
        let (status, body) = f.appoint(rep, &newcomer(), "王六").await;
        assert_eq!((status, code_of(&body)), (400, "appointee_unverified"));
        let (status, body) = f.appoint(rep, &person(), "张三").await;
        assert_eq!((status, code_of(&body)), (400, "admin_is_legal_rep"));
        let (status, _) = f.appoint(rep, "4111021992", "王五").await;
        assert_eq!(status, 400);
        let (status, _) = f
            .app
            .post(
                "/api/wallet/enterprise/NOT-A-CODE/admins",
                Some(rep),
                &json!({"resident_id": newcomer(), "name": "王五"}),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(f.audited("appoint_admin").await, 0, "nothing was appointed");

        let (status, body) = f.appoint(rep, &newcomer(), "王五").await;
        assert_eq!(status, 201, "{body}");
        // The legal representative sees the administrators in full: the configured one first.
        assert_eq!(body["admins"][0]["resident_id"], grantee().as_str());
        assert!(body["admins"][0]["appointed_at"].is_null());
        assert_eq!(body["admins"][1]["resident_id"], newcomer().as_str());
        assert_eq!(body["admins"][1]["name"], "王五");
        assert_eq!(body["admins"][1]["appointed_at"], START);
        let (status, body) = f.appoint(rep, &newcomer(), "王五").await;
        assert_eq!((status, code_of(&body)), (409, "admin_exists"));
        assert_eq!(f.audited("appoint_admin").await, 1);

        // Now 王五 finds the enterprise's certificates as its administrator, with the other
        // administrators' IDs masked.
        let (status, body) = f.search(wang).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["role"], "admin");
        assert_eq!(body["certificates"][0]["id"], f.licence.as_str());
        assert_ne!(body["admins"][0]["resident_id"], grantee().as_str());
        assert_eq!(body["admins"].as_array().unwrap().len(), 2);
        let (_, body) = f.search(rep).await;
        assert_eq!(body["role"], "legal_rep");
    }
);

both_backends!(
    an_administrator_lends_the_licence_for_named_matters_and_the_agent_cannot_pass_it_on,
    |backend| async move {
        let f = firm_world(backend).await;
        // Before the appointment 王五's grant is refused at creation.
        let (status, _) = f.grant(&f.newcomer, MatterScope::All).await;
        assert_eq!(status, 403);
        let (status, body) = f.appoint(&f.rep.0, &newcomer(), "王五").await;
        assert_eq!(status, 201, "{body}");
        let (status, grant) = f
            .grant(&f.newcomer, MatterScope::Named(vec![LICENCE_MATTER.into()]))
            .await;
        assert_eq!(status, 201);
        // The agent cannot lend the licence on, to anyone.
        let terms = GrantTerms {
            id: GrantId::generate().unwrap(),
            cert_id: f.licence.clone(),
            holder: Holder::Enterprise(firm().parse().unwrap()),
            grantee: Grantee {
                resident_id: newcomer().parse().unwrap(),
                name: "王五".into(),
                enterprise: None,
            },
            matters: MatterScope::All,
            not_before: START,
            not_after: START + 3600,
            use_limit: None,
        };
        let (status, body) = f
            .app
            .post(
                "/api/wallet/grants",
                Some(&f.agent.0),
                &json!({"grant": String::from(terms.sign(&f.agent.1).unwrap())}),
            )
            .await;
        assert_eq!(
            (status, code_of(&body)),
            (403, "grant_not_holder"),
            "{body}"
        );
        // The agent's code works for the named matter and for no other.
        let (status, got) = f.agent_scan(grant).await;
        assert_eq!(status, 201, "{got}");
        assert_eq!(got["material"], "营业执照");
        assert_eq!(got["grant_id"], grant.to_string());
        let text = f.show(&f.agent.1, Subject::Grant(grant));
        let (_, status, body) = f.scan(CRANE_MATTER, &text).await;
        assert_eq!((status, code_of(&body)), (400, "grant_matter_not_covered"));
    }
);

both_backends!(
    removing_an_administrator_revokes_the_grants_they_signed_and_a_restart_does_not_undo_it,
    |backend| async move {
        let f = firm_world(backend).await;
        let (status, _) = f.appoint(&f.rep.0, &newcomer(), "王五").await;
        assert_eq!(status, 201);
        let (_, by_newcomer) = f.grant(&f.newcomer, MatterScope::All).await;
        let (_, by_rep) = f.grant(&f.rep, MatterScope::All).await;
        let (_, by_admin) = f.grant(&f.admin, MatterScope::All).await;
        // An administrator cannot remove another; the legal representative can.
        let (status, body) = f.remove(&f.admin.0, &newcomer()).await;
        assert_eq!((status, code_of(&body)), (403, "legal_rep_only"));
        let (status, body) = f.remove(&f.rep.0, &newcomer()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["revoked_grants"], json!([by_newcomer.to_string()]));
        assert_eq!(body["admins"].as_array().unwrap().len(), 1);
        let (status, body) = f.remove(&f.rep.0, &newcomer()).await;
        assert_eq!((status, code_of(&body)), (404, "admin_not_found"));
        assert_eq!(f.audited("remove_admin").await, 1);
        // The grant 王五 signed is dead; the legal representative's is not.
        let (status, body) = f.agent_scan(by_newcomer).await;
        assert_eq!((status, code_of(&body)), (400, "grant_revoked"));
        let (status, body) = f.agent_scan(by_rep).await;
        assert_eq!(status, 201, "{body}");
        // 王五 no longer acts for the enterprise.
        let (status, _) = f.search(&f.newcomer.0).await;
        assert_eq!(status, 404);
        let (status, _) = f.grant(&f.newcomer, MatterScope::All).await;
        assert_eq!(status, 403);

        // The administrator from the configuration is removed the same way, and a restart that
        // applies the configuration again does not bring him back.
        let (status, body) = f.remove(&f.rep.0, &grantee()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["revoked_grants"], json!([by_admin.to_string()]));
        let second = spawn_second(&f.app).await;
        let (status, _) = second
            .get_as(&format!("/api/wallet/enterprise?q={}", firm()), &f.admin.0)
            .await;
        assert_eq!(status, 404);
        // Appointed again, 王五 acts for the enterprise again; his old grant stays revoked.
        let (status, _) = f.appoint(&f.rep.0, &newcomer(), "王五").await;
        assert_eq!(status, 201);
        let (status, _) = f.search(&f.newcomer.0).await;
        assert_eq!(status, 200);
        let (status, body) = f.agent_scan(by_newcomer).await;
        assert_eq!((status, code_of(&body)), (400, "grant_revoked"));
    }
);

both_backends!(
    everyone_acting_for_the_enterprise_sees_its_certificates_uses,
    |backend| async move {
        let f = firm_world(backend).await;
        // The administrator shows the licence himself; the agent shows the representative's
        // grant.
        let text = f.show(&f.admin.1, Subject::Certificate(f.licence.clone()));
        let (_, status, body) = f.scan(LICENCE_MATTER, &text).await;
        assert_eq!(status, 201, "{body}");
        f.app.advance(10);
        let (_, grant) = f.grant(&f.rep, MatterScope::All).await;
        let (status, body) = f.agent_scan(grant).await;
        assert_eq!(status, 201, "{body}");
        for token in [&f.rep.0, &f.admin.0] {
            let (status, usage) = f.app.get_as("/api/wallet/usage", token).await;
            assert_eq!(status, 200, "{usage}");
            let uses = usage.as_array().unwrap();
            assert_eq!(uses.len(), 2, "{usage}");
            assert!(uses
                .iter()
                .all(|u| u["cert_id"] == f.licence.as_str() && u["holder_id"] == firm().as_str()));
            assert_eq!(uses[0]["grant_id"], grant.to_string());
            assert_eq!(uses[0]["matter_name"], "建筑业企业资质");
        }
        // The agent used it but does not act for the enterprise: not in his log.
        let (_, usage) = f.app.get_as("/api/wallet/usage", &f.agent.0).await;
        assert_eq!(usage, json!([]));
    }
);

both_backends!(
    a_case_marks_the_materials_that_attached_e_certificates_replaced,
    |backend| async move {
        let f = firm_world(backend).await;
        let text = f.show(&f.rep.1, Subject::Certificate(f.licence.clone()));
        let (case, status, got) = f.scan(LICENCE_MATTER, &text).await;
        assert_eq!(status, 201, "{got}");
        let path = format!("/api/counter/cases/{case}");
        // Retrieved but not yet confirmed: nothing is replaced.
        let (status, view) = f.app.get_as(&path, &f.clerk).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["replaced"], 0);
        assert!(view["materials"][1]["replaced_by"].is_null());
        // The applicant confirms: the licence replaces its material, the form does not change.
        let rid = got["retrieval_id"].as_str().unwrap();
        let (status, attached) = f
            .app
            .post(
                &format!("/api/counter/retrievals/{rid}/confirm"),
                Some(&f.clerk),
                &json!({}),
            )
            .await;
        assert_eq!(status, 201, "{attached}");
        let (_, view) = f.app.get_as(&path, &f.clerk).await;
        assert_eq!(view["replaced"], 1);
        let materials = view["materials"].as_array().unwrap();
        assert_eq!(materials.len(), 2);
        assert_eq!(materials[0]["name"], "建筑业企业资质申请表");
        assert!(materials[0]["replaced_by"].is_null());
        assert_eq!(materials[1]["name"], "营业执照");
        assert_eq!(materials[1]["cert_type"], LICENCE_TYPE);
        assert_eq!(
            materials[1]["replaced_by"],
            json!({
                "retrieval_id": rid,
                "cert_id": f.licence.as_str(),
                "verification_code": attached["attachment"]["verification_code"],
            })
        );
    }
);
