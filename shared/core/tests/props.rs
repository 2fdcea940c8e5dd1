//! Property tests: idempotence, echo suppression across directions, and no panics on
//! arbitrary JSON anywhere input enters the core.

use std::collections::BTreeMap;

use crmsync_core::config::{FieldMapping, SyncConfig, SyncRule};
use crmsync_core::describe::ObjectDescribe;
use crmsync_core::event::AppEvent;
use crmsync_core::inbound::{InboundAction, decide_inbound};
use crmsync_core::outbound::{OutboundContext, OutboundDecision, plan_outbound};
use crmsync_core::record::RawRecord;
use crmsync_core::transform::{FieldKind, normalize, to_app, to_salesforce};
use crmsync_core::types::{AppObject, AppRecord, EventKind, FieldMap, Link};
use proptest::prelude::*;
use serde_json::{Value, json};

const KINDS: [FieldKind; 7] = [
    FieldKind::String,
    FieldKind::Number,
    FieldKind::Boolean,
    FieldKind::Date,
    FieldKind::Datetime,
    FieldKind::MultiSelect,
    FieldKind::Picklist,
];

fn config() -> SyncConfig {
    let mut cfg = SyncConfig::standard();
    cfg.owners
        .app_users
        .insert("rep@example.com".into(), "user-7".into());
    let lead = cfg.objects.get_mut("Lead").unwrap();
    lead.fields.extend([
        FieldMapping::new(
            "employees",
            "NumberOfEmployees",
            SyncRule::TwoWay,
            FieldKind::Number,
        ),
        FieldMapping::new(
            "birthday",
            "Birthdate__c",
            SyncRule::TwoWay,
            FieldKind::Date,
        ),
        FieldMapping::new(
            "last_seen",
            "LastSeen__c",
            SyncRule::TwoWay,
            FieldKind::Datetime,
        ),
        FieldMapping::new("tags", "Tags__c", SyncRule::TwoWay, FieldKind::MultiSelect),
        FieldMapping::new(
            "do_not_call",
            "DoNotCall",
            SyncRule::TwoWay,
            FieldKind::Boolean,
        ),
    ]);
    cfg
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,20}".prop_map(Value::String),
        "(2026-11-21T07:57:32.000\\+0000|2026-11-21|a;b|true|12.5|)".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects whose keys are mostly real field names, so mapping code is exercised.
fn arb_record() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("Id".to_string()),
        Just("attributes".to_string()),
        Just("LastName".to_string()),
        Just("Phone".to_string()),
        Just("Owner".to_string()),
        Just("StageName".to_string()),
        Just("Amount".to_string()),
        Just("NumberOfEmployees".to_string()),
        Just("Birthdate__c".to_string()),
        Just("LastSeen__c".to_string()),
        Just("Tags__c".to_string()),
        Just("DoNotCall".to_string()),
        Just("LastModifiedDate".to_string()),
        "\\PC{0,8}",
    ];
    prop::collection::btree_map(key, arb_json(), 0..14)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn date() -> impl Strategy<Value = String> {
    (1950i32..2100, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

fn datetime() -> impl Strategy<Value = String> {
    (
        date(),
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1000,
        -12i32..=12,
    )
        .prop_map(|(d, h, mi, s, ms, off)| {
            format!(
                "{d}T{h:02}:{mi:02}:{s:02}.{ms:03}{}{:02}:00",
                if off < 0 { '-' } else { '+' },
                off.abs()
            )
        })
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 .,'@-]{1,40}".prop_filter("not blank", |s| !s.trim().is_empty())
}

/// App-side person fields in every supported type.
fn person() -> impl Strategy<Value = FieldMap> {
    (
        (text(), text(), text(), text(), text(), text()),
        (
            prop::option::of(-1_000_000i64..1_000_000),
            prop::option::of(any::<f64>().prop_filter("finite", |f| f.is_finite())),
            prop::option::of(date()),
            prop::option::of(datetime()),
            prop::option::of(prop::collection::vec("[a-z]{1,6}", 1..4)),
            prop::option::of(any::<bool>()),
        ),
    )
        .prop_map(
            |((first, last, email, phone, title, company), (emp, frac, bday, seen, tags, dnc))| {
                let mut f = FieldMap::new();
                for (k, v) in [
                    ("first_name", first),
                    ("last_name", last),
                    ("email", email),
                    ("phone", phone),
                    ("title", title),
                    ("company_name", company),
                ] {
                    f.insert(k.into(), json!(v));
                }
                f.insert("owner_id".into(), json!("user-7"));
                if let Some(n) = emp.map(|n| json!(n)).or(frac.map(|x| json!(x))) {
                    f.insert("employees".into(), n);
                }
                if let Some(d) = bday {
                    f.insert("birthday".into(), json!(d));
                }
                if let Some(d) = seen {
                    f.insert("last_seen".into(), json!(d));
                }
                if let Some(t) = tags {
                    f.insert("tags".into(), json!(t));
                }
                if let Some(b) = dnc {
                    f.insert("do_not_call".into(), json!(b));
                }
                f
            },
        )
}

fn event(kind: EventKind, fields: FieldMap) -> AppEvent {
    AppEvent {
        event_id: "ev".into(),
        kind,
        app_object: AppObject::Contact,
        app_id: "app-1".into(),
        occurred_at: "2026-11-21T07:57:32Z".into(),
        fields,
        sale_items: vec![],
        associated_contacts: vec![],
    }
}

fn plan(cfg: &SyncConfig, links: &BTreeMap<String, Link>, ev: &AppEvent) -> OutboundDecision {
    let describes: BTreeMap<String, ObjectDescribe> = BTreeMap::new();
    let dir = BTreeMap::from([(
        "rep@example.com".to_string(),
        "005000000000001AAA".to_string(),
    )]);
    plan_outbound(
        &OutboundContext {
            config: cfg,
            links,
            describes: &describes,
            owner_directory: &dir,
            now: chrono::Utc::now(),
            activity: None,
        },
        ev,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn outbound_same_change_twice_writes_once(fields in person()) {
        let cfg = config();
        let ev = event(EventKind::Update, fields);
        let OutboundDecision::Write { plan: first } = plan(&cfg, &BTreeMap::new(), &ev) else {
            return Err(TestCaseError::fail("first mapping must write"));
        };
        let step = &first.steps[0];
        let links = BTreeMap::from([(step.object.clone(), Link { salesforce_id: "00Q000000000001AAA".into(), hashes: step.link.clone().unwrap().hashes, ..Default::default() })]);
        let again = plan(&cfg, &links, &ev);
        prop_assert!(matches!(again, OutboundDecision::NoChange { .. }), "{:?}", again);
    }

    #[test]
    fn inbound_echo_of_outbound_write_is_nothing(fields in person()) {
        let cfg = config();
        let ev = event(EventKind::Create, fields.clone());
        let OutboundDecision::Write { plan: out } = plan(&cfg, &BTreeMap::new(), &ev) else {
            return Err(TestCaseError::fail("outbound must write"));
        };
        let step = &out.steps[0];
        // What Salesforce returns when polled: the written values, plus system fields.
        let mut rec = serde_json::Map::new();
        rec.insert("attributes".into(), json!({"type": step.object}));
        rec.insert("Id".into(), json!("00Q000000000001AAA"));
        rec.insert("LastModifiedDate".into(), json!("2026-11-21T07:57:33.000+0000"));
        rec.insert("Owner".into(), json!({"Email": "rep@example.com"}));
        for (k, v) in &step.fields {
            if k != "OwnerId" { rec.insert(k.clone(), v.clone()); }
        }
        let rec = Value::Object(rec);
        let hashes = step.link.clone().unwrap().hashes;
        let app = AppRecord { fields, modified_at: None };
        let d = decide_inbound(&cfg, &step.object, &rec, Some(&hashes), Some(&app)).unwrap();
        prop_assert_eq!(d.action, InboundAction::NoChange);
        prop_assert_eq!(d.link_hashes, hashes);
        // And the raw path agrees.
        let text = rec.to_string();
        let raw = RawRecord::parse(&text).unwrap();
        let d2 = decide_inbound(&cfg, &step.object, &raw, Some(&step.link.clone().unwrap().hashes), Some(&app)).unwrap();
        prop_assert_eq!(d2.action, InboundAction::NoChange);
    }

    #[test]
    fn inbound_same_record_twice_changes_once(rec in arb_record()) {
        let cfg = config();
        let mut rec = rec;
        rec["Id"] = json!("00Q000000000001AAA");
        rec["attributes"] = json!({"type": "Lead"});
        // Required app fields, so the record is applied rather than skipped.
        rec["Phone"] = json!("555-0100");
        rec["LastName"] = json!("Doe");
        let first = decide_inbound(&cfg, "Lead", &rec, None, None).unwrap();
        // A skipped record was not applied, so there is nothing to echo.
        prop_assume!(!matches!(first.action, InboundAction::Skipped { .. }));
        let app_fields = match &first.action {
            InboundAction::Create { fields } => fields.clone(),
            _ => FieldMap::new(),
        };
        let app = AppRecord { fields: app_fields, modified_at: None };
        let second = decide_inbound(&cfg, "Lead", &rec, Some(&first.link_hashes), Some(&app)).unwrap();
        prop_assert_eq!(second.action, InboundAction::NoChange);
    }

    #[test]
    fn arbitrary_records_never_panic(rec in arb_record(), obj in prop::sample::select(vec!["Lead", "Contact", "Account", "Opportunity", "User", "Task", "X__c"])) {
        let cfg = config();
        let app = AppRecord { fields: rec.as_object().map(|m| m.clone().into_iter().collect()).unwrap_or_default(), modified_at: None };
        let _ = decide_inbound(&cfg, obj, &rec, None, None);
        let _ = decide_inbound(&cfg, obj, &rec, Some(&BTreeMap::new()), Some(&app));
        let text = rec.to_string();
        if let Ok(raw) = RawRecord::parse(&text) {
            let _ = decide_inbound(&cfg, obj, &raw, None, Some(&app));
        }
    }

    #[test]
    fn arbitrary_values_never_panic_in_transforms(v in arb_json()) {
        for k in KINDS {
            let _ = to_salesforce(k, &v);
            let _ = to_app(k, &v);
            let _ = normalize(k, &v);
            let _ = crmsync_core::hash::field_hash(k, &v);
        }
        let _ = RawRecord::parse(&v.to_string());
        let _ = serde_json::from_value::<ObjectDescribe>(v.clone());
    }

    #[test]
    fn arbitrary_events_never_panic(fields in prop::collection::btree_map("[a-z_]{1,12}", arb_json(), 0..12),
                                    kind in prop::sample::select(vec![EventKind::Create, EventKind::Update, EventKind::DemoSet, EventKind::Sale]),
                                    obj in prop::sample::select(vec![AppObject::Contact, AppObject::Company, AppObject::Deal, AppObject::User, AppObject::Activity]),
                                    junk in arb_json()) {
        let mut cfg = config();
        cfg.activity.enabled = true;
        let mut ev = event(kind, fields);
        ev.app_object = obj;
        let _ = ev.validate();
        let _ = plan(&cfg, &BTreeMap::new(), &ev);
        let links = BTreeMap::from([("Lead".to_string(), Link { salesforce_id: "x".into(), hashes: BTreeMap::new(), ..Default::default() })]);
        let _ = plan(&cfg, &links, &ev);
        let _ = AppEvent::parse(junk.to_string().as_bytes());
        let mut as_json = serde_json::to_value(&ev).unwrap();
        as_json["fields"] = junk;
        let _ = AppEvent::parse(as_json.to_string().as_bytes());
    }

    #[test]
    fn arbitrary_config_json_never_panics(junk in arb_json(), key in prop::sample::select(vec![
        "version", "objects", "conflict_policy", "owners", "stage_map", "required_app_fields", "poll_cap",
        "frequency", "activity", "matching", "lead_routing", "opportunity"])) {
        let _ = SyncConfig::from_json(&junk.to_string());
        let mut v = serde_json::to_value(SyncConfig::standard()).unwrap();
        v[key] = junk.clone();
        if let Ok(cfg) = SyncConfig::from_json(&v.to_string()) {
            let _ = cfg.readiness();
        }
        let mut v = serde_json::to_value(SyncConfig::standard()).unwrap();
        v["objects"]["Lead"]["fields"][0]["app_field"] = junk;
        let _ = SyncConfig::from_json(&v.to_string());
    }
}
