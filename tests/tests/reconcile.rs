//! Issue 11 goal 5: a reconcile by Id scan too big for one sweep run resumes from its
//! checkpoint. With 2 pages (400 links) a run, 950 links take 3 runs; every link is checked
//! exactly once (one existence query per page of 200, none repeated), every deleted record
//! is unlinked and every live one stays linked.

use std::collections::BTreeMap;

use crmsync_e2e::*;
use crmsync_service::sweep;
use crmsync_store::{Environment, Link, LinkTimes};
use serde_json::json;

e2e!(an_interrupted_reconcile_resumes_where_it_stopped);

const LINKS: usize = 950;

async fn sweep_messages(s: &Stack) -> (Vec<String>, u64) {
    let run = sweep::sweep_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("sweep runs");
    (run.messages.clone(), run.total().unlinked)
}

fn queries(s: &Stack) -> u64 {
    let usage = s.sf.api_usage(PROD_ORG).unwrap();
    usage.counters.get("query").copied().unwrap_or(0)
}

async fn an_interrupted_reconcile_resumes_where_it_stopped(backend: Backend) {
    let options = StackOptions {
        reconcile_pages_per_run: Some(2),
        ..StackOptions::default()
    };
    let s = Stack::start_with(backend, options).await;
    s.connect("prod", Environment::Production).await;
    s.advance(chrono::Duration::minutes(2));
    sweep_messages(&s).await;

    let mut deleted = Vec::new();
    for i in 0..LINKS {
        let sf_id = s.insert(
            PROD_ORG,
            "Contact",
            json!({"LastName": format!("Scan{i}"), "Email": format!("scan{i}@reconcile.example")}),
        );
        let now = s.now();
        let link = Link {
            tenant: s.tenant.clone(),
            connection: s.conn("prod"),
            app_object: "contact".into(),
            app_id: format!("app-{i:04}"),
            sf_object: "Contact".into(),
            sf_id: sf_id.clone(),
            hashes: BTreeMap::new(),
            times: LinkTimes::default(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        s.app.stores.links.create_if_absent(&link).await.unwrap();
        if i % 10 == 3 {
            deleted.push(sf_id);
        }
    }
    for id in &deleted {
        s.sf.delete_record(PROD_ORG, "Contact", id).unwrap();
    }
    // The delete log no longer reaches back to the last sweep: reconcile by Id scan.
    s.advance(chrono::Duration::days(20));
    s.sf.reset_counters(PROD_ORG).unwrap();

    let mut unlinked = 0;
    let (messages, n) = sweep_messages(&s).await;
    unlinked += n;
    assert!(
        messages
            .iter()
            .any(|m| m.contains("paused after 400 links")),
        "{messages:#?}"
    );
    assert_eq!(queries(&s), 2, "one existence query per page");
    let (messages, n) = sweep_messages(&s).await;
    unlinked += n;
    assert!(
        messages
            .iter()
            .any(|m| m.contains("paused after 800 links")),
        "the second run continued, not restarted: {messages:#?}"
    );
    let (messages, n) = sweep_messages(&s).await;
    unlinked += n;
    assert!(
        messages
            .iter()
            .any(|m| m.contains("(950 links checked, resumed from its checkpoint)")),
        "{messages:#?}"
    );
    assert_eq!(queries(&s), 5, "950 links, 5 pages, each queried once");
    assert_eq!(unlinked, deleted.len() as u64);

    // Done: the next sweep reads the delete log again and queries nothing.
    s.advance(chrono::Duration::minutes(2));
    let (messages, n) = sweep_messages(&s).await;
    assert_eq!(n, 0, "{messages:#?}");
    assert!(
        !messages.iter().any(|m| m.contains("reconcil")),
        "{messages:#?}"
    );
    assert_eq!(queries(&s), 5);
    for id in &deleted {
        let link = s
            .app
            .stores
            .links
            .get_by_sf_id(&s.tenant, &s.conn("prod"), id)
            .await
            .unwrap();
        assert!(link.is_none(), "{id} was deleted in Salesforce");
    }
    let mut live = 0;
    let mut page = crmsync_store::PageRequest::first(200);
    loop {
        let batch = s
            .app
            .stores
            .links
            .list_for_object(&s.tenant, &s.conn("prod"), "Contact", &page)
            .await
            .unwrap();
        live += batch.items.len();
        match batch.next {
            Some(t) => page = crmsync_store::PageRequest::next(200, t),
            None => break,
        }
    }
    assert_eq!(live, LINKS - deleted.len());
}
