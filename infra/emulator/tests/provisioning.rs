//! Tooling `CustomField`, permission sets and field-level security.

mod common;

use common::*;
use serde_json::{Value, json};
use sf_emulator::{
    OrgSpec,
    schema::{FieldDef, FieldType},
};

const ADMIN: &str = "admin@p.example";

async fn setup() -> (sf_emulator::Emulator, Api) {
    let seeded = FieldDef::new("Seeded__c", FieldType::String);
    let emu = start_small(OrgSpec::new("p").custom_field("Contact", seeded)).await;
    let api = Api::new(&emu, token(&emu, "p", ADMIN));
    (emu, api)
}

fn key_field() -> Value {
    json!({"FullName": "Contact.Crmsync_App_Id__c", "Metadata": {
        "label": "crmsync App Id", "type": "Text", "length": 255,
        "externalId": true, "unique": true}})
}

async fn describe_field(api: &Api, object: &str, name: &str) -> Option<Value> {
    let (s, d) = api.get(&format!("sobjects/{object}/describe")).await;
    assert_eq!(s, 200, "{d}");
    d["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == name).cloned())
}

async fn tooling_query(api: &Api, soql: &str) -> (u16, Value) {
    let resp = api
        .http
        .get(api.url("tooling/query"))
        .query(&[("q", soql)])
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("request");
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

/// Creates the permission set granting read (and edit) on `field`, assigned to the admin.
async fn grant(emu: &sf_emulator::Emulator, api: &Api, field: &str, edit: bool) -> String {
    let (s, ps) = api
        .post(
            "sobjects/PermissionSet",
            json!({"Name": "Crmsync_Integration", "Label": "crmsync integration"}),
        )
        .await;
    assert_eq!(s, 201, "{ps}");
    let ps = ps["id"].as_str().unwrap().to_string();
    let (object, _) = field.split_once('.').unwrap();
    let (s, fp) = api
        .post(
            "sobjects/FieldPermissions",
            json!({"ParentId": ps, "SobjectType": object, "Field": field,
                   "PermissionsRead": true, "PermissionsEdit": edit}),
        )
        .await;
    assert_eq!(s, 201, "{fp}");
    let user = emu.admin().user_id("p", ADMIN).unwrap();
    let (s, a) = api
        .post(
            "sobjects/PermissionSetAssignment",
            json!({"AssigneeId": user, "PermissionSetId": ps}),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    ps
}

#[tokio::test]
async fn a_created_field_is_hidden_until_a_permission_set_grants_it() {
    let (emu, api) = setup().await;
    let (s, b) = api.post("tooling/sobjects/CustomField", key_field()).await;
    assert_eq!(s, 201, "{b}");
    assert!(b["id"].as_str().unwrap().starts_with("00N"));
    assert_eq!(b["success"], true);

    // Metadata is there (Tooling), the data API user cannot see it yet.
    let (s, q) = tooling_query(
        &api,
        "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = 'Contact' AND DeveloperName = 'Crmsync_App_Id'",
    )
    .await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(q["totalSize"], 1);
    assert_eq!(q["entityTypeName"], "CustomField");
    assert_eq!(q["records"][0]["Id"], b["id"]);
    assert!(
        describe_field(&api, "Contact", "Crmsync_App_Id__c")
            .await
            .is_none()
    );
    assert!(describe_field(&api, "Contact", "Seeded__c").await.is_some());
    let (s, e) = api.query("SELECT Crmsync_App_Id__c FROM Contact").await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("INVALID_FIELD"))
    );
    let (s, e) = api
        .post(
            "sobjects/Contact",
            json!({"LastName": "Lovelace", "Crmsync_App_Id__c": "contact:1"}),
        )
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("INVALID_FIELD"))
    );

    grant(&emu, &api, "Contact.Crmsync_App_Id__c", true).await;
    let f = describe_field(&api, "Contact", "Crmsync_App_Id__c")
        .await
        .expect("visible once granted");
    assert_eq!(
        (
            &f["type"],
            &f["externalId"],
            &f["unique"],
            &f["idLookup"],
            &f["length"]
        ),
        (
            &json!("string"),
            &json!(true),
            &json!(true),
            &json!(true),
            &json!(255)
        )
    );
    let (s, c) = api
        .post(
            "sobjects/Contact",
            json!({"LastName": "Lovelace", "Crmsync_App_Id__c": "contact:1"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    // Unique: a second record with the key is refused; an upsert by it updates.
    let (s, e) = api
        .post(
            "sobjects/Contact",
            json!({"LastName": "Other", "Crmsync_App_Id__c": "contact:1"}),
        )
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("DUPLICATE_VALUE"))
    );
    let (s, u) = api
        .patch(
            "sobjects/Contact/Crmsync_App_Id__c/contact:1",
            json!({"LastName": "Byron"}),
        )
        .await;
    assert_eq!((s, &u["created"], &u["id"]), (200, &json!(false), &c["id"]));
    let (s, u) = api
        .patch(
            "sobjects/Contact/Crmsync_App_Id__c/contact:2",
            json!({"LastName": "Babbage"}),
        )
        .await;
    assert_eq!((s, &u["created"]), (201, &json!(true)));
    // The key goes in the URL only, never in the body.
    let (s, e) = api
        .patch(
            "sobjects/Contact/Crmsync_App_Id__c/contact:2",
            json!({"LastName": "Babbage", "Crmsync_App_Id__c": "contact:2"}),
        )
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("INVALID_FIELD"))
    );
    // Collections: each record carries its key; each result says created or not.
    let (s, r) = api
        .patch(
            "composite/sobjects/Contact/Crmsync_App_Id__c",
            json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Contact"}, "LastName": "Ada", "Crmsync_App_Id__c": "contact:1"},
                {"attributes": {"type": "Contact"}, "LastName": "Grace", "Crmsync_App_Id__c": "contact:3"}
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!((&r[0]["created"], &r[0]["id"]), (&json!(false), &c["id"]));
    assert_eq!(
        (&r[1]["success"], &r[1]["created"]),
        (&json!(true), &json!(true))
    );
    // A field that is not an external id cannot key an upsert.
    let (s, e) = api
        .patch(
            "composite/sobjects/Contact/LastName",
            json!({"records": [{"attributes": {"type": "Contact"}, "LastName": "Ada"}]}),
        )
        .await;
    let code = e[0]["errorCode"]
        .as_str()
        .or(e[0]["errors"][0]["statusCode"].as_str());
    assert_eq!(code, Some("INVALID_FIELD"), "{s} {e}");
}

#[tokio::test]
async fn read_without_edit_makes_the_field_read_only() {
    let (emu, api) = setup().await;
    let (s, b) = api.post("tooling/sobjects/CustomField", key_field()).await;
    assert_eq!(s, 201, "{b}");
    grant(&emu, &api, "Contact.Crmsync_App_Id__c", false).await;
    let f = describe_field(&api, "Contact", "Crmsync_App_Id__c")
        .await
        .unwrap();
    assert_eq!(
        (&f["createable"], &f["updateable"]),
        (&json!(false), &json!(false))
    );
    let (s, e) = api
        .post(
            "sobjects/Contact",
            json!({"LastName": "L", "Crmsync_App_Id__c": "contact:1"}),
        )
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("INVALID_FIELD_FOR_INSERT_UPDATE"))
    );
}

#[tokio::test]
async fn duplicates_and_bad_metadata_are_refused() {
    let (emu, api) = setup().await;
    assert_eq!(
        api.post("tooling/sobjects/CustomField", key_field())
            .await
            .0,
        201
    );
    let (s, e) = api.post("tooling/sobjects/CustomField", key_field()).await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("DUPLICATE_DEVELOPER_NAME"))
    );
    for bad in [
        json!({"FullName": "Contact.No_Suffix", "Metadata": {"label": "x", "type": "Text", "length": 10}}),
        json!({"FullName": "Contact.Long__c", "Metadata": {"label": "x", "type": "Text", "length": 300}}),
        json!({"FullName": "Contact.Flag__c", "Metadata": {"label": "x", "type": "Checkbox"}}),
        json!({"FullName": "Contact.Day__c", "Metadata": {"label": "x", "type": "Date", "externalId": true}}),
        json!({"FullName": "Nope.X__c", "Metadata": {"label": "x", "type": "Text", "length": 10}}),
    ] {
        let (s, e) = api.post("tooling/sobjects/CustomField", bad.clone()).await;
        assert_eq!(s, 400, "{bad} → {e}");
    }
    // The same user assigned twice, the same field granted twice.
    let ps = grant(&emu, &api, "Contact.Seeded__c", true).await;
    let user = emu.admin().user_id("p", ADMIN).unwrap();
    let (s, e) = api
        .post(
            "sobjects/PermissionSetAssignment",
            json!({"AssigneeId": user, "PermissionSetId": ps}),
        )
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("DUPLICATE_VALUE"))
    );
    assert!(
        e[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Duplicate PermissionSetAssignment")
    );
    let (s, e) = api
        .post(
            "sobjects/FieldPermissions",
            json!({"ParentId": ps, "SobjectType": "Contact", "Field": "Contact.Nope__c",
                   "PermissionsRead": true}),
        )
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"))
    );
    let (s, e) = api
        .post(
            "sobjects/PermissionSet",
            json!({"Name": "Crmsync_Integration", "Label": "again"}),
        )
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("DUPLICATE_VALUE"))
    );
}

#[tokio::test]
async fn number_checkbox_and_picklist_fields_describe_as_declared() {
    let (emu, api) = setup().await;
    for (body, field) in [
        (
            json!({"FullName": "Lead.Score__c", "Metadata": {"label": "Score", "type": "Number", "precision": 5, "scale": 1}}),
            "Lead.Score__c",
        ),
        (
            json!({"FullName": "Lead.Is_Dql__c", "Metadata": {"label": "DQL", "type": "Checkbox", "defaultValue": "false"}}),
            "Lead.Is_Dql__c",
        ),
        (
            json!({"FullName": "Lead.Level__c", "Metadata": {"label": "Level", "type": "Picklist",
            "valueSet": {"restricted": true, "valueSetDefinition": {"value": [{"fullName": "Hot", "label": "Hot"}, {"fullName": "Cold", "label": "Cold"}]}}}}),
            "Lead.Level__c",
        ),
    ] {
        let (s, b) = api.post("tooling/sobjects/CustomField", body).await;
        assert_eq!(s, 201, "{b}");
        let _ = field;
    }
    let (s, ps) = api
        .post("sobjects/PermissionSet", json!({"Name": "P", "Label": "P"}))
        .await;
    assert_eq!(s, 201);
    for f in ["Lead.Score__c", "Lead.Is_Dql__c", "Lead.Level__c"] {
        let (s, b) = api
            .post(
                "sobjects/FieldPermissions",
                json!({"ParentId": ps["id"], "SobjectType": "Lead", "Field": f, "PermissionsRead": true, "PermissionsEdit": true}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    let user = emu.admin().user_id("p", ADMIN).unwrap();
    api.post(
        "sobjects/PermissionSetAssignment",
        json!({"AssigneeId": user, "PermissionSetId": ps["id"]}),
    )
    .await;
    let score = describe_field(&api, "Lead", "Score__c").await.unwrap();
    assert_eq!(
        (&score["type"], &score["precision"], &score["scale"]),
        (&json!("double"), &json!(5), &json!(1))
    );
    let dql = describe_field(&api, "Lead", "Is_Dql__c").await.unwrap();
    assert_eq!(dql["type"], "boolean");
    let level = describe_field(&api, "Lead", "Level__c").await.unwrap();
    assert_eq!(
        (&level["type"], &level["restrictedPicklist"]),
        (&json!("picklist"), &json!(true))
    );
    let (s, e) = api
        .post(
            "sobjects/Lead",
            json!({"LastName": "L", "Company": "C", "Level__c": "Warm"}),
        )
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"))
    );
}

#[tokio::test]
async fn a_user_without_customize_application_cannot_create_or_delete_fields() {
    let (emu, api) = setup().await;
    let (s, b) = api.post("tooling/sobjects/CustomField", key_field()).await;
    assert_eq!(s, 201);
    emu.admin()
        .set_customize_application("p", ADMIN, false)
        .unwrap();
    let mut other = key_field();
    other["FullName"] = json!("Lead.Crmsync_App_Id__c");
    let (s, e) = api
        .post("tooling/sobjects/CustomField", other.clone())
        .await;
    assert_eq!(
        (s, e[0]["errorCode"].as_str()),
        (400, Some("INSUFFICIENT_ACCESS_OR_READONLY"))
    );
    let id = b["id"].as_str().unwrap();
    let (s, _) = api
        .delete(&format!("tooling/sobjects/CustomField/{id}"))
        .await;
    assert_eq!(s, 400);
    emu.admin()
        .set_customize_application("p", ADMIN, true)
        .unwrap();
    let (s, _) = api
        .delete(&format!("tooling/sobjects/CustomField/{id}"))
        .await;
    assert_eq!(s, 204);
    let (_, q) = tooling_query(
        &api,
        "SELECT Id FROM CustomField WHERE DeveloperName = 'Crmsync_App_Id'",
    )
    .await;
    assert_eq!(q["totalSize"], 0);
    assert_eq!(api.post("tooling/sobjects/CustomField", other).await.0, 201);
}
