//! Issue 11: the owner directory is cached per connection (one `User` query per TTL, not
//! per batch), and a batch naming an owner the cache lacks refreshes it at once.

use crmsync_e2e::*;
use crmsync_store::{Environment, ReportStatus};
use serde_json::json;
use sf_emulator::UserSpec;

fn lead(s: &Stack, app_id: &str, owner: &str) -> serde_json::Value {
    app_event(
        "create",
        "contact",
        app_id,
        s.now(),
        json!({"first_name": "Owen", "last_name": app_id, "email": format!("{app_id}@owner.example"),
               "company_name": "Owner Co", "owner_id": owner}),
    )
}

async fn push_one(s: &Stack, event: serde_json::Value) -> String {
    let id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    let r = s.report("prod", &id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Success, "{r:#?} {drained:#?}");
    r.sf_id.expect("a record id")
}

fn user_queries(s: &Stack) -> u64 {
    s.sf.api_count(PROD_ORG, "query").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_directory_is_cached_and_refreshed_on_a_miss_or_after_the_ttl() {
    let s = Stack::start(Backend::Embedded).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        c.owners
            .app_users
            .insert(Stack::MAPPED_USER.into(), "app-ava".into());
        c.owners
            .app_users
            .insert("nina.new@demo.example".into(), "app-nina".into());
    })
    .await;
    let ava = s.user_id(PROD_ORG, Stack::MAPPED_USER);

    s.sf.reset_counters(PROD_ORG).unwrap();
    let first = push_one(&s, lead(&s, "app-o1", "app-ava")).await;
    assert_eq!(s.record(PROD_ORG, "Lead", &first)["OwnerId"], json!(ava));
    let after_first = user_queries(&s);

    // Warm: the next batch reads no directory (the create's match queries only).
    let second = push_one(&s, lead(&s, "app-o2", "app-ava")).await;
    assert_eq!(s.record(PROD_ORG, "Lead", &second)["OwnerId"], json!(ava));
    let warm = user_queries(&s) - after_first;

    // A user added in Salesforce: the miss refreshes the directory in the same batch.
    let mut nina = UserSpec::new("nina.new@demo.example", "unused").named("Nina", "New");
    nina.password = None;
    let nina_id = s.sf.add_user(PROD_ORG, nina).unwrap();
    let before_miss = user_queries(&s);
    let third = push_one(&s, lead(&s, "app-o3", "app-nina")).await;
    assert_eq!(
        s.record(PROD_ORG, "Lead", &third)["OwnerId"],
        json!(nina_id)
    );
    let miss = user_queries(&s) - before_miss;
    assert_eq!(miss, warm + 1, "a miss reads the directory once more");

    // After the TTL the directory is read again.
    s.advance(chrono::Duration::minutes(11));
    let before_ttl = user_queries(&s);
    push_one(&s, lead(&s, "app-o4", "app-ava")).await;
    assert_eq!(
        user_queries(&s) - before_ttl,
        warm + 1,
        "expired after the TTL"
    );
}
