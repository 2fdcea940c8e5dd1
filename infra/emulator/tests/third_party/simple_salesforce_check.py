"""Drives the emulator with the real simple-salesforce client.

Usage: python simple_salesforce_check.py http://127.0.0.1:PORT

simple-salesforce always builds https:// URLs from the instance host, so a requests.Session
subclass rewrites https://127.0.0.1:PORT to http:// (simple-salesforce accepts a custom
session). Login goes through simple-salesforce's own SOAP login (SalesforceLogin with
scratch_url pointing at the emulator) and, separately, an OAuth password grant.
Exits non-zero with a FAIL line on the first failed check.
"""

import datetime
import sys

import requests
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

BASE = sys.argv[1].rstrip("/")
HOSTPORT = BASE.split("://", 1)[1]
USER, PASSWORD = "admin@demo.example", "demo"
CLIENT_ID, CLIENT_SECRET = "crmsync-demo", "demo-secret"


class EmulatorSession(requests.Session):
    """Sends simple-salesforce's https://HOST:PORT URLs to the plain-http emulator."""

    def request(self, method, url, *args, **kwargs):
        prefix = "https://" + HOSTPORT
        if url.startswith(prefix):
            url = BASE + url[len(prefix):]
        kwargs.setdefault("timeout", 20)
        return super().request(method, url, *args, **kwargs)


def check(cond, msg):
    if not cond:
        print("FAIL:", msg, flush=True)
        sys.exit(1)
    print("ok:", msg, flush=True)


def main():
    session = EmulatorSession()

    # 1. SOAP login through simple-salesforce's login code.
    session_id, instance = SalesforceLogin(
        username=USER,
        password=PASSWORD,
        security_token="",
        scratch_url=BASE,
        session=session,
        sf_version="62.0",
    )
    check(instance == HOSTPORT, f"SOAP login returns instance {instance}")
    try:
        SalesforceLogin(username=USER, password="wrong", security_token="",
                        scratch_url=BASE, session=session)
        check(False, "bad password must fail")
    except Exception as e:  # SalesforceAuthenticationFailed
        check("INVALID_LOGIN" in str(e), "bad password -> INVALID_LOGIN")

    # 2. OAuth password grant (token endpoint) for a second client.
    tok = session.post(BASE + "/services/oauth2/token", data={
        "grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "username": USER, "password": PASSWORD}).json()
    check("access_token" in tok and "expires_in" not in tok, "password grant token shape")
    check(tok["issued_at"].isdigit(), "issued_at is epoch millis as a string")

    sf = Salesforce(instance_url=BASE, session_id=session_id, session=session, version="62.0")
    sf_oauth = Salesforce(instance_url=tok["instance_url"], session_id=tok["access_token"],
                          session=EmulatorSession(), version="62.0")

    # Organization name and a parent relationship.
    org = sf_oauth.query("SELECT Name FROM Organization")
    check(org["records"][0]["Name"] == "Demo Company", "org name via SOQL")

    # 3. Query with paging: batchSize=200 over 300 demo contacts.
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Id, Email, Owner.Email FROM Contact ORDER BY Id", headers=headers)
    check(first["done"] is False and len(first["records"]) == 200, "first page of 200")
    check(first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g"), "nextRecordsUrl echoes version")
    more = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=headers)
    check(more["done"] is True and len(more["records"]) == first["totalSize"] - 200, "query_more last page")
    everything = sf.query_all("SELECT Id, Owner.Email FROM Contact", headers=headers)
    check(everything["totalSize"] == len(everything["records"]) == 300, "query_all follows locators")
    check(all(r["Owner"]["Email"].endswith("@demo.example") for r in everything["records"]),
          "owner emails present")

    # 4. Create, update, upsert.
    created = sf.Contact.create({"FirstName": "Third", "LastName": "Party",
                                 "Email": "third.party@example.com"})
    check(created["success"] and created["id"].startswith("003") and len(created["id"]) == 18, "create")
    cid = created["id"]
    status = sf.Contact.update(cid, {"Title": "Tester"})
    check(status == 204, "update -> 204")
    got = sf.Contact.get(cid)
    check(got["Title"] == "Tester" and got["Name"] == "Third Party", "get after update")
    status = sf.Contact.upsert("Email/third.party@example.com", {"Department": "QA"})
    check(status == 204 or status == 200, f"upsert existing by idLookup Email -> {status}")
    status = sf.Contact.upsert("Crmsync_Id__c/ext-1", {"LastName": "Upserted"})
    check(status == 201, f"upsert new by external id -> {status}")
    try:
        sf.Contact.create({"FirstName": "NoLastName"})
        check(False, "missing LastName must fail")
    except SalesforceMalformedRequest as e:
        check(e.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING", "REQUIRED_FIELD_MISSING")
    try:
        sf.query("SELECT Id FROM Nope__c")
        check(False, "unknown object must fail")
    except SalesforceMalformedRequest as e:
        check(e.content[0]["errorCode"] == "INVALID_TYPE", "INVALID_TYPE")

    # 5. Describe.
    desc = sf.Contact.describe()
    email = next(f for f in desc["fields"] if f["name"] == "Email")
    check(email["idLookup"] and email["type"] == "email", "describe: Email is idLookup")
    last = next(f for f in desc["fields"] if f["name"] == "LastName")
    check(last["nillable"] is False and last["createable"], "describe: LastName required")
    check(any(o["name"] == "Opportunity" for o in sf.describe()["sobjects"]), "global describe")

    # 6. Delete and the deleted feed.
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    check(sf.Contact.delete(cid) == 204, "delete -> 204")
    try:
        sf.Contact.get(cid)
        check(False, "deleted record must be gone")
    except SalesforceResourceNotFound:
        check(True, "get deleted -> 404")
    # The feed covers whole minutes up to "now": move the emulator clock past this minute.
    session.post(BASE + "/__admin/clock/advance", json={"seconds": 120})
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=4)
    deleted = sf.Contact.deleted(start, end)
    check(any(d["id"] == cid for d in deleted["deletedRecords"]), "deleted() lists the record")
    updated = sf.Contact.updated(start, end)
    check(isinstance(updated["ids"], list), "updated() answers ids")
    with_deleted = sf.query_all("SELECT Id, IsDeleted FROM Contact WHERE Id = '%s'" % cid,
                                include_deleted=True)
    check(with_deleted["records"][0]["IsDeleted"] is True, "queryAll sees IsDeleted")
    print("all checks passed")


if __name__ == "__main__":
    main()
