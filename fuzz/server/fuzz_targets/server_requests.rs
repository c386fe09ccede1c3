//! Request bodies, query strings and path parameters against the real router of the wallet
//! province (410000) and of Luohe (411100), anonymous or with a citizen's, a clerk's or a
//! department's token: whatever arrives, the node answers without panicking, never with a 5xx,
//! and every refusal is problem+json with a stable code.
//!
//! Input: byte 0 picks the node (bit 0), the caller (bits 1–2) and whether the body is sent as
//! JSON (bit 3); byte 1 the path parameters; then a line naming the route as `ROUTES` lists it
//! (`POST /api/wallet/login`; any other line picks a route by its bytes), and the rest is the
//! body (the query string for a GET). Naming the route keeps the seeds valid when routes are
//! added.
#![no_main]

use ecert_fuzz_server::node::{self, Caller};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [flags, pick, rest @ ..] = data else {
        return;
    };
    let (line, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let nodes = node::nodes();
    let routes = node::routes();
    let target = &nodes.targets[usize::from(flags & 1) % nodes.targets.len()];
    let caller = match (flags >> 1) & 3 {
        0 => Caller::Anonymous,
        1 => Caller::Citizen,
        2 => Caller::Staff,
        _ => Caller::Department,
    };
    let route = routes
        .iter()
        .copied()
        .find(|r| line == format!("{} {}", r.method, r.path).as_bytes())
        .unwrap_or_else(|| {
            let sum = line
                .iter()
                .fold(0usize, |a, &b| a.wrapping_mul(31).wrapping_add(b.into()));
            routes[sum % routes.len()]
        });
    let Some(answer) = target.send(route, caller, *pick, flags & 8 == 0, body) else {
        return;
    };
    let shown = String::from_utf8_lossy(&answer.body);
    assert!(
        !answer.status.is_server_error(),
        "{} {} at {} as {caller:?}: {} {shown}",
        route.method,
        route.path,
        target.region,
        answer.status
    );
    if answer.status.is_client_error() {
        assert_eq!(
            answer.content_type, "application/problem+json",
            "{} {}: a refusal is problem+json: {} {shown}",
            route.method, route.path, answer.status
        );
        let problem: serde_json::Value =
            serde_json::from_slice(&answer.body).expect("a problem body is JSON");
        assert!(
            problem["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{} {}: a refusal names its code: {shown}",
            route.method,
            route.path
        );
    }
});
