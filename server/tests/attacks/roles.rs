//! Attacks across roles: a clerk's token on every wallet route, a citizen's on every counter
//! and review route, either on every department route. Table-driven over the route table
//! (`server::routes::ROUTES`), so a route added later is covered by its `who`.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::counter_world::*;
use crate::ledger;

/// The route's path with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{kind}", "invoice")
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "x".to_owned()
            } else {
                seg.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Calls every route whose `who` is one of `whose` with `token`; asserts each refusal and
/// that nothing changed.
async fn refused_on(w: &World, token: &str, whose: &[&str], status: &[u16], code: &[&str]) {
    let routes: Vec<_> = server::routes::ROUTES
        .iter()
        .filter(|r| whose.contains(&r.who))
        .collect();
    assert!(!routes.is_empty(), "routes for {whose:?}");
    for r in routes {
        let path = concrete(r.path);
        let method = Method::from_bytes(r.method.as_bytes()).unwrap();
        let body = (method == Method::POST).then(|| json!({}));
        let before = ledger::read(&w.app.state.db).await;
        let (got, reply) = w.app.send(method, &path, Some(token), body.as_ref()).await;
        assert!(
            status.contains(&got) && code.contains(&reply["code"].as_str().unwrap_or("")),
            "{} {path}: {got} {reply}",
            r.method
        );
        ledger::assert_changed(&before, &ledger::read(&w.app.state.db).await, &[]);
    }
}

both_backends!(
    a_clerk_token_is_refused_on_every_wallet_route,
    |backend| async move {
        let w = world(backend).await;
        refused_on(&w, &w.clerk, &["citizen"], &[403], &["forbidden"]).await;
    }
);

both_backends!(
    a_citizen_token_is_refused_on_every_counter_and_review_route,
    |backend| async move {
        let w = world(backend).await;
        refused_on(
            &w,
            &w.holder_token,
            &["clerk", "reviewer", "clerk or reviewer"],
            &[403],
            &["forbidden"],
        )
        .await;
    }
);

both_backends!(
    session_tokens_are_refused_on_every_department_route,
    |backend| async move {
        let w = world(backend).await;
        for token in [&w.holder_token, &w.clerk] {
            refused_on(&w, token, &["department"], &[401], &["unauthenticated"]).await;
        }
    }
);
