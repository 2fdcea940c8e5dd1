//! `POST /events` through the ingest router: signatures, validation naming the field, and
//! accepted batches landing on the push queue.

mod http_common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use crmsync_service::http::ingest_router;
use crmsync_service::signing::{self, SIGNATURE_HEADER, TENANT_HEADER};
use crmsync_store::QueueKind;
use http_common::*;
use serde_json::{Value, json};

fn event(id: &str, app_id: &str) -> Value {
    json!({"event_id": id, "kind": "create", "app_object": "contact", "app_id": app_id,
           "occurred_at": "2026-11-22T10:00:00Z", "fields": {"last_name": "Lee", "phone": "+15550100"}})
}

fn request(tenant: &str, signature: Option<String>, body: &[u8]) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri("/events")
        .header(TENANT_HEADER, tenant);
    if let Some(sig) = signature {
        b = b.header(SIGNATURE_HEADER, sig);
    }
    b.body(Body::from(body.to_vec())).unwrap()
}

#[tokio::test]
async fn signed_batches_are_checked_validated_and_queued() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    connection(&app, "acme", "production").await;
    let router = ingest_router(app.clone());
    let now = chrono::Utc::now().timestamp();

    let good = serde_json::to_vec(
        &json!({"connection": "production", "events": [event("e1", "c1"), event("e2", "c2")]}),
    )
    .unwrap();

    // No signature, a wrong one, one for another body, a stale one.
    let r = send(&router, request("acme", None, &good)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.error_code(), "unauthorized");
    let r = send(
        &router,
        request(
            "acme",
            Some(signing::sign("whsec_wrong", now, &good)),
            &good,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(
        &router,
        request(
            "acme",
            Some(signing::sign(&acme.webhook_secret, now, b"{}")),
            &good,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let stale = now - signing::TOLERANCE_SECS - 60;
    let r = send(
        &router,
        request(
            "acme",
            Some(signing::sign(&acme.webhook_secret, stale, &good)),
            &good,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let r = send(
        &router,
        request(
            "nobody",
            Some(signing::sign(&acme.webhook_secret, now, &good)),
            &good,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        app.stores
            .queues
            .receive(QueueKind::Push, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing queued yet"
    );

    // A bad event names its field, and nothing of the batch is queued.
    let bad = serde_json::to_vec(
        &json!({"connection": "production", "events": [event("e3", " "), event("e4", "c4")]}),
    )
    .unwrap();
    let r = send(
        &router,
        request(
            "acme",
            Some(signing::sign(&acme.webhook_secret, now, &bad)),
            &bad,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_field(), "events[0].app_id");
    assert!(
        app.stores
            .queues
            .receive(QueueKind::Push, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let r = send(
        &router,
        request(
            "acme",
            Some(signing::sign(&acme.webhook_secret, now, &good)),
            &good,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json["accepted"], 2);
    assert_eq!(r.json["event_ids"], json!(["e1", "e2"]));
    // The events are in the connection's outbox, in order; the queue holds one nudge.
    let (t, c) = (
        crmsync_store::TenantId::new("acme").unwrap(),
        crmsync_store::ConnectionId::new("production").unwrap(),
    );
    let outbox = app.stores.outbox.oldest(&t, &c, 10).await.unwrap();
    let ids: Vec<String> = outbox
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(&e.body).unwrap()["event"]["event_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, vec!["e1", "e2"]);
    let queued = app
        .stores
        .queues
        .receive(QueueKind::Push, 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "one nudge for the request: {queued:#?}");
    let nudge: Value = serde_json::from_str(&queued[0].body).unwrap();
    assert_eq!(
        nudge,
        json!({"nudge": "outbox", "tenant": "acme", "connection": "production"})
    );
    assert_eq!(
        queued[0].group_id.as_deref(),
        Some("acme:production"),
        "the nudge's FIFO group is the connection"
    );
}

#[tokio::test]
async fn oversized_bodies_and_unknown_routes_get_json_errors() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    let router = ingest_router(app);
    let big = vec![b' '; crmsync_service::ingest::MAX_BODY_BYTES + 1];
    let now = chrono::Utc::now().timestamp();
    let r = send(
        &router,
        request(
            "acme",
            Some(signing::sign(&acme.webhook_secret, now, &big)),
            &big,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.error_field(), "body");
    let r = call(&router, "GET", "/events", None, None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = call(&router, "POST", "/v1/connections", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "not_found");
}
