//! Hostile text in every text field of the routes that take text: SQL metacharacters, a NUL,
//! strings longer than any field allows and a 1 MB string. Table-driven over the routes and
//! their fields. A 5xx is never acceptable; a refusal changes nothing but the audit log; text
//! that is accepted is stored as text (the tables it could have dropped are all still there).

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::counter_world::*;
use crate::helpers::*;
use crate::ledger::{self, Ledger};

/// Who calls a route.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Anyone,
    Citizen,
    Clerk,
    Department,
}

/// One route with a valid-looking body and the JSON pointers of its text fields.
struct Case {
    method: Method,
    path: String,
    caller: Caller,
    body: Value,
    fields: &'static [&'static str],
}

fn cases(w: &World, case_id: &str) -> Vec<Case> {
    let cert = w.cert_id.to_string();
    let post = |path: &str, caller, body: Value, fields| Case {
        method: Method::POST,
        path: path.to_owned(),
        caller,
        body,
        fields,
    };
    vec![
        post(
            "/api/wallet/otp",
            Caller::Anyone,
            json!({"phone": "13700137000", "purpose": "login"}),
            &["/phone", "/purpose"],
        ),
        post(
            "/api/wallet/register",
            Caller::Anyone,
            json!({"resident_id": person(), "name": "张三", "phone": "13700137000",
                   "code": "000000", "password": "abcdefgh1"}),
            &["/resident_id", "/name", "/phone", "/code", "/password"],
        ),
        post(
            "/api/wallet/login",
            Caller::Anyone,
            json!({"resident_id": person(), "password": PASSWORD}),
            &["/resident_id", "/password"],
        ),
        post(
            "/api/wallet/login",
            Caller::Anyone,
            json!({"phone": PHONE, "code": "000000"}),
            &["/phone", "/code"],
        ),
        post(
            "/api/staff/login",
            Caller::Anyone,
            json!({"id": "lh-clerk-01", "password": CLERK_PASSWORD}),
            &["/id", "/password"],
        ),
        post(
            "/api/wallet/refresh",
            Caller::Anyone,
            json!({"refresh_token": "x"}),
            &["/refresh_token"],
        ),
        post(
            "/api/wallet/liveness",
            Caller::Citizen,
            json!({"evidence": "x"}),
            &["/evidence"],
        ),
        post(
            "/api/wallet/devices",
            Caller::Citizen,
            json!({"public_key": "x"}),
            &["/public_key"],
        ),
        post(
            "/api/wallet/grants",
            Caller::Citizen,
            json!({"grant": "x"}),
            &["/grant"],
        ),
        post(
            "/api/wallet/presentations/current",
            Caller::Citizen,
            json!({"text": "x"}),
            &["/text"],
        ),
        post(
            "/api/wallet/objections",
            Caller::Citizen,
            json!({"cert_id": cert, "reason": "作业项目登记错误"}),
            &["/cert_id", "/reason"],
        ),
        post(
            "/api/wallet/objections",
            Caller::Citizen,
            json!({"kind": "missing", "type_code": CRANE_TYPE, "issuer_code": amr(),
                   "reason": "未查到证照"}),
            &["/kind", "/type_code", "/issuer_code"],
        ),
        post(
            "/api/counter/cases",
            Caller::Clerk,
            json!({"matter": CRANE_MATTER}),
            &["/matter"],
        ),
        post(
            &format!("/api/counter/cases/{case_id}/retrievals"),
            Caller::Clerk,
            json!({"text": "x"}),
            &["/text"],
        ),
        post(
            &format!("/api/counter/cases/{case_id}/evaluation"),
            Caller::Clerk,
            json!({"score": 5, "comment": "好"}),
            &["/comment"],
        ),
        post(
            "/api/issuer/certificates",
            Caller::Department,
            crane_request(),
            &[
                "/type_code",
                "/holder_kind",
                "/holder_id",
                "/holder_name",
                "/fields/作业项目",
                "/fields/证书编号",
            ],
        ),
        post(
            &format!("/api/issuer/certificates/{cert}/correct"),
            Caller::Department,
            json!({"holder_name": "张三", "valid_from": START - 86400,
                   "valid_until": START + 86400, "fields": crane_request()["fields"]}),
            &["/holder_name", "/fields/住址"],
        ),
    ]
}

fn token(w: &World, caller: Caller) -> Option<&str> {
    match caller {
        Caller::Anyone => None,
        Caller::Citizen => Some(&w.holder_token),
        Caller::Clerk => Some(&w.clerk),
        Caller::Department => Some(TOKEN),
    }
}

fn with(body: &Value, pointer: &str, text: &str) -> Value {
    let mut b = body.clone();
    *b.pointer_mut(pointer).unwrap() = json!(text);
    b
}

/// Counts may grow by what an accepted request wrote, but no table may lose rows.
fn nothing_lost(before: &Ledger, after: &Ledger, what: &str) {
    for (k, grew) in after.since(before) {
        assert!(grew > 0 || k.contains('.'), "{what}: {k} lost rows");
    }
}

const HOSTILE: &[&str] = &[
    "'; DROP TABLE certificates; --",
    "\" OR \"1\"=\"1",
    "1' OR '1'='1' /*",
    "%_\\'; SELECT pg_sleep(0); --",
    "nul\u{0}byte",
    "Robert'); DELETE FROM audit_log WHERE ('1'='1",
];

both_backends!(
    sql_metacharacters_in_every_text_field_never_cause_a_server_error,
    |backend| async move {
        let w = world(backend).await;
        let case_id = w.open_case(CRANE_MATTER).await;
        for c in cases(&w, &case_id) {
            for field in c.fields {
                for text in HOSTILE {
                    let before = ledger::read(&w.app.state.db).await;
                    let body = with(&c.body, field, text);
                    let (status, reply) = w
                        .app
                        .send(c.method.clone(), &c.path, token(&w, c.caller), Some(&body))
                        .await;
                    let what = format!(
                        "{} {} {field} = {text:?}: {status} {reply}",
                        c.method, c.path
                    );
                    assert!(status < 500, "{what}");
                    let after = ledger::read(&w.app.state.db).await;
                    if (400..500).contains(&status) {
                        assert!(reply["code"].is_string(), "{what}");
                        let mut changed = after.since(&before);
                        changed.remove("audit_log");
                        changed.remove("nonces");
                        assert!(changed.is_empty(), "{what}: changed {changed:?}");
                    } else {
                        nothing_lost(&before, &after, &what);
                    }
                }
            }
        }
        ledger::assert_chain_intact(&w.app.state.db).await;
        // The text went in as text: the department's certificates are all still there.
        let (status, _) = w
            .app
            .get_as("/api/wallet/certificates", &w.holder_token)
            .await;
        assert_eq!(status, 200);
    }
);

both_backends!(
    a_one_megabyte_string_in_any_text_field_is_refused_as_too_large,
    |backend| async move {
        let w = world(backend).await;
        let case_id = w.open_case(CRANE_MATTER).await;
        let huge = "证".repeat(350_000); // 1,050,000 bytes of UTF-8
        for c in cases(&w, &case_id) {
            for field in c.fields {
                let before = ledger::read(&w.app.state.db).await;
                let body = with(&c.body, field, &huge);
                let reply = w
                    .app
                    .send(c.method.clone(), &c.path, token(&w, c.caller), Some(&body))
                    .await;
                assert_refused(&reply, 413, "payload_too_large");
                ledger::assert_changed(&before, &ledger::read(&w.app.state.db).await, &[]);
            }
        }
    }
);

both_backends!(
    an_overlong_string_under_the_body_limit_is_refused_by_its_field_rule,
    |backend| async move {
        let w = world(backend).await;
        let case_id = w.open_case(CRANE_MATTER).await;
        // 60,000 bytes: under the 64 KiB body limit, over any field's own limit.
        let long = "x".repeat(60_000);
        for c in cases(&w, &case_id) {
            for field in c.fields {
                let before = ledger::read(&w.app.state.db).await;
                let body = with(&c.body, field, &long);
                let (status, reply) = w
                    .app
                    .send(c.method.clone(), &c.path, token(&w, c.caller), Some(&body))
                    .await;
                let what = format!("{} {} {field}: {status} {reply}", c.method, c.path);
                assert!((400..500).contains(&status), "{what}");
                let mut changed = ledger::read(&w.app.state.db).await.since(&before);
                changed.remove("audit_log");
                changed.remove("nonces");
                assert!(changed.is_empty(), "{what}: changed {changed:?}");
            }
        }
    }
);

both_backends!(
    hostile_text_in_paths_and_queries_is_not_found_or_refused,
    |backend| async move {
        let w = world(backend).await;
        let long = "x".repeat(8_000);
        let mut texts: Vec<&str> = HOSTILE.to_vec();
        texts.push(&long);
        for text in texts {
            let t = urlencode(text);
            let gets = [
                (format!("/api/counter/cases/{t}"), Some(w.clerk.as_str())),
                (format!("/api/archive/{t}"), None),
                (
                    format!("/api/wallet/certificates/{t}"),
                    Some(w.holder_token.as_str()),
                ),
                (
                    format!("/api/wallet/objections/{t}"),
                    Some(w.holder_token.as_str()),
                ),
                (
                    format!("/api/wallet/enterprise?q={t}"),
                    Some(w.holder_token.as_str()),
                ),
                (format!("/api/public/disclosures?q={t}"), None),
            ];
            for (path, token) in gets {
                let before = ledger::read(&w.app.state.db).await;
                let (status, reply) = w.app.send(Method::GET, &path, token, None).await;
                assert!(
                    (400..500).contains(&status) || status == 200,
                    "{path}: {status} {reply}"
                );
                ledger::assert_changed(&before, &ledger::read(&w.app.state.db).await, &[]);
            }
            let before = ledger::read(&w.app.state.db).await;
            let (status, _) = w
                .app
                .send(
                    Method::POST,
                    &format!("/api/wallet/grants/{t}/revoke"),
                    Some(&w.holder_token),
                    None,
                )
                .await;
            assert!((400..500).contains(&status), "{status}");
            ledger::assert_changed(&before, &ledger::read(&w.app.state.db).await, &[]);
        }
    }
);

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
