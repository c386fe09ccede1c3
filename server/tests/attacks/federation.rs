//! Attacks between nodes: a service token for another node, one signed by a key the registry
//! does not hold, one with no signature or an expired one, a replayed one, a caller that is not
//! where the request's path says, and a wallet session of one node shown to another. Two nodes
//! of a federation in this process: Henan (410000) is called, Luohe (411100) calls.

use serde_json::{json, Value};
use server::federation::token::mint;
use wallet_core::{RegionCode, SecretKey};

use crate::federation_on_both_backends;
use crate::ledger::{self, assert_changed};
use crate::support::fixtures::{citizen, person, CRANE_MATTER};
use crate::support::nodes::Federation;

const HENAN: &str = "410000";
const LUOHE: &str = "411100";

fn r(s: &str) -> RegionCode {
    s.parse().unwrap()
}

async fn pair(backend: server::db::Backend) -> Federation {
    Federation::start(&[HENAN, LUOHE], backend, |_, _| {}).await
}

/// A retrieval hop as Luohe would forward it.
fn hop() -> Value {
    json!({
        "correlation_id": "c-1",
        "origin": {"region": LUOHE, "clerk": "x", "case_id": "x", "counter": "x", "matter": CRANE_MATTER},
        "presentation": "EC1:XYZ",
        "materials": [],
        "path": [LUOHE]
    })
}

/// Calls Henan's retrieval hop with `token` and `body`; asserts the refusal, that only one
/// audit entry was written, and that it records the refusal's code.
async fn refused_call(f: &Federation, token: Option<&str>, body: &Value, status: u16, code: &str) {
    let db = &f.state(HENAN).db;
    let before = ledger::read(db).await;
    let (got, reply) = f.post(HENAN, "/federation/v1/retrieve", token, body).await;
    assert_eq!(
        (got, reply["code"].as_str()),
        (status, Some(code)),
        "{reply}"
    );
    assert_changed(&before, &ledger::read(db).await, &[("audit_log", 1)]);
    let (action, result) = ledger::last_audit(db).await;
    assert!(
        matches!(action.as_str(), "peer_call" | "retrieval_hop"),
        "{action}"
    );
    assert_eq!(result, code);
    ledger::assert_chain_intact(db).await;
}

federation_on_both_backends!(
    an_inter_node_call_addressed_to_another_node_is_refused_and_audited,
    |backend| async move {
        let f = pair(backend).await;
        let luohe = f.node(LUOHE).key();
        // Luohe's genuine token, but for Luohe itself and for a third node.
        for aud in [LUOHE, "410100"] {
            let token = mint(&luohe, r(LUOHE), r(aud), "c-1", f.now()).unwrap();
            refused_call(
                &f,
                Some(&token),
                &hop(),
                401,
                "service_token_wrong_audience",
            )
            .await;
        }
    }
);

federation_on_both_backends!(
    an_inter_node_call_signed_by_an_unknown_key_is_refused_and_audited,
    |backend| async move {
        let f = pair(backend).await;
        let stranger = SecretKey::from_bytes(&[99u8; 32]).unwrap();
        let token = mint(&stranger, r(LUOHE), r(HENAN), "c-1", f.now()).unwrap();
        refused_call(&f, Some(&token), &hop(), 401, "service_token_unknown_key").await;
        // Henan's own key used by a caller claiming to be Luohe.
        let henan = f.node(HENAN).key();
        let token = mint(&henan, r(LUOHE), r(HENAN), "c-1", f.now()).unwrap();
        refused_call(&f, Some(&token), &hop(), 401, "service_token_unknown_key").await;
    }
);

federation_on_both_backends!(
    an_inter_node_call_without_a_valid_token_is_refused_and_audited,
    |backend| async move {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        use base64::Engine;
        let f = pair(backend).await;
        let luohe = f.node(LUOHE).key();
        refused_call(&f, None, &hop(), 401, "service_token_missing").await;
        let stale = mint(&luohe, r(LUOHE), r(HENAN), "c-1", f.now() - 60).unwrap();
        refused_call(&f, Some(&stale), &hop(), 401, "service_token_expired").await;
        // The genuine claims under `alg: none`, without a signature.
        let genuine = mint(&luohe, r(LUOHE), r(HENAN), "c-1", f.now()).unwrap();
        let payload = genuine.split('.').nth(1).unwrap();
        let none = format!("{}.{payload}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#));
        refused_call(&f, Some(&none), &hop(), 401, "service_token_malformed").await;
    }
);

federation_on_both_backends!(
    a_replayed_or_misrouted_inter_node_call_is_refused_and_audited,
    |backend| async move {
        let f = pair(backend).await;
        let luohe = f.node(LUOHE).key();
        let token = mint(&luohe, r(LUOHE), r(HENAN), "c-1", f.now()).unwrap();
        // Authenticated; the code itself is malformed, which is refused and audited as a hop.
        let (status, _) = f
            .post(HENAN, "/federation/v1/retrieve", Some(&token), &hop())
            .await;
        assert_eq!(status, 400);
        refused_call(&f, Some(&token), &hop(), 401, "service_token_replayed").await;
        // A caller that is not the last node on the request's path.
        let token = mint(&luohe, r(LUOHE), r(HENAN), "c-1", f.now()).unwrap();
        let mut misrouted = hop();
        misrouted["path"] = json!(["410100"]);
        refused_call(&f, Some(&token), &misrouted, 400, "hop_misrouted").await;
    }
);

federation_on_both_backends!(
    a_wallet_session_of_one_node_is_refused_at_another,
    |backend| async move {
        let f = pair(backend).await;
        let token = citizen(&f, HENAN, &person(), "张三", "13800138000").await;
        assert_eq!(f.get(HENAN, "/api/wallet/me", Some(&token)).await.0, 200);
        let db = &f.state(LUOHE).db;
        let before = ledger::read(db).await;
        let (status, reply) = f.get(LUOHE, "/api/wallet/me", Some(&token)).await;
        assert_eq!(
            (status, reply["code"].as_str()),
            (401, Some("unauthenticated"))
        );
        assert_changed(&before, &ledger::read(db).await, &[]);
    }
);
