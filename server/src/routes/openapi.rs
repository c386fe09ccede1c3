//! The OpenAPI 3.1 document at `/api/openapi.json`, built from `ROUTES`, so a route cannot be
//! added without being documented. Every operation documents the problem-details shape of its
//! errors; bodies are described as JSON objects.

use axum::Json;
use serde_json::{json, Map, Value};

use super::ROUTES;

fn problem() -> Value {
    json!({
        "type": "object",
        "required": ["type", "title", "status", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string", "description": "Chinese message for people"},
            "status": {"type": "integer"},
            "code": {"type": "string", "description": "stable snake_case error code"},
            "detail": {"type": "string"}
        }
    })
}

/// Who may call, as the security requirement a client must meet: one bearer scheme per kind
/// of caller, so a client (or a contract fuzzer) knows which token each route takes.
fn security(who: &str) -> Value {
    match who {
        w if w.starts_with("anyone") || w == "operators" => json!([]),
        // The refresh token travels in the body.
        "session" => json!([]),
        w if w.starts_with("department") => json!([{"department": []}]),
        w if w.starts_with("citizen") => json!([{"citizen": []}]),
        "clerk or reviewer" => json!([{"clerk": []}, {"reviewer": []}]),
        w if w.starts_with("clerk") => json!([{"clerk": []}]),
        "reviewer" => json!([{"reviewer": []}]),
        _ => json!([{"service": []}]),
    }
}

fn operation(method: &str, path: &str, who: &str, what: &str) -> Value {
    let mut params: Vec<Value> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if path == "/api/wallet/enterprise" {
        params.push(
            json!({"name": "q", "in": "query", "required": true, "schema": {"type": "string"}}),
        );
    }
    if path == "/api/review/fund/applications" {
        params.push(json!({"name": "status", "in": "query", "required": false,
            "schema": {"type": "string", "enum": ["under_review", "approved", "rejected"]}}));
    }
    // Photos travel as their bytes, not as JSON.
    let image = json!({
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}}
    });
    let photo = path.ends_with("/uploads/{kind}");
    let problem_ref =
        json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
    let ok_content = if path == "/metrics" {
        json!({"text/plain": {"schema": {"type": "string"}}})
    } else if photo && method == "GET" {
        image.clone()
    } else {
        json!({"application/json": {"schema": {}}})
    };
    let mut op = json!({
        "summary": what,
        "description": format!("Caller: {who}."),
        "operationId": format!("{}_{}", method.to_lowercase(), path.trim_matches('/').replace(['/', '{', '}', '.'], "_")),
        "parameters": params,
        "security": security(who),
        "responses": {
            "2XX": {"description": "success", "content": ok_content},
            "4XX": {"description": "refused: the code says which rule", "content": problem_ref.clone()},
            "5XX": {"description": "the node failed; nothing internal is said", "content": problem_ref}
        }
    });
    if method == "POST" && photo {
        op["requestBody"] = json!({"required": true, "content": image});
    } else if method == "POST" {
        op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object"}}}});
    }
    op
}

pub fn build() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        entry[r.method.to_lowercase()] = operation(r.method, r.path, r.who, r.what);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "电子证照系统节点 (e-certificate node)", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "schemas": {"Problem": problem()},
            "securitySchemes": {
                "citizen": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)", "description": "a citizen's session at the wallet province"},
                "clerk": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)", "description": "a counter clerk's session at this node"},
                "reviewer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)", "description": "a back-office reviewer's session at this node"},
                "department": {"type": "http", "scheme": "bearer", "description": "a department system's token"},
                "service": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)", "description": "a registered node's service token (aud = this region)"}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
