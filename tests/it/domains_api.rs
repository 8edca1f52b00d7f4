//! End to end under the local stack: an account adds its own sending domain, publishes the
//! records Herald gives it on a real DNS server on loopback (zone files the tests write),
//! Herald verifies them on demand and on its schedule, and once the domain is in use, email
//! goes out from `prefix@domain` (as moto's SES records it).

use std::time::Duration;

use herald::common::account::AccountId;
use herald_tests::api::{Api, Reply};
use herald_tests::receiver::Receiver;
use herald_tests::{new_account, stack_var};
use serde_json::{Value, json};

fn fresh_domain() -> String {
    format!(
        "acme-{}.com",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

async fn add(api: &Api, account: &AccountId, body: Value) -> Reply {
    api.post(&format!("/accounts/{account}/domains"), body)
        .await
}

/// Publishes `records` (as the API lists them) in the local DNS server's zone for `domain`.
fn publish(domain: &str, records: &[Value]) {
    let zone: Vec<Value> = records
        .iter()
        .map(|r| {
            let value = r["value"].as_str().expect("value");
            match r["type"].as_str() {
                Some("MX") => {
                    let (preference, host) = value.split_once(' ').expect("MX value");
                    json!({"name": r["name"], "type": "MX",
                           "preference": preference.parse::<u16>().expect("preference"),
                           "host": host})
                }
                // As a DNS provider stores a long TXT value: strings of at most 255 bytes.
                _ => json!({"name": r["name"], "type": "TXT",
                            "strings": value.as_bytes().chunks(255)
                                .map(|c| String::from_utf8_lossy(c).into_owned())
                                .collect::<Vec<_>>()}),
            }
        })
        .collect();
    write_zone(domain, &zone);
}

/// Serves `zone` for `domain` from the local DNS server, replaced whole (never read half
/// written).
fn write_zone(domain: &str, zone: &[Value]) {
    let dir = std::path::PathBuf::from(stack_var("HERALD_TEST_DNS_ZONES"));
    let tmp = dir.join(format!(".{domain}.tmp"));
    std::fs::write(&tmp, json!({"records": zone}).to_string()).expect("written");
    std::fs::rename(&tmp, dir.join(format!("{domain}.json"))).expect("published");
}

fn records(reply: &Reply) -> Vec<Value> {
    reply.body["dnsRecords"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn statuses(reply: &Reply) -> Vec<(String, String)> {
    records(reply)
        .iter()
        .map(|r| {
            (
                r["purpose"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_domain_is_added_verified_put_in_use_and_sends_email() {
    let receiver = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    api.subscribe(
        account.as_str(),
        json!({"name": "domains", "type": "webhook", "url": receiver.url,
               "events": ["domain.verified"]}),
    )
    .await;
    let domain = fresh_domain();
    let added = add(
        &api,
        &account,
        json!({"domain": domain, "dkimSelector": "herald"}),
    )
    .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    assert_eq!(added.body["status"], "pending");
    assert_eq!(added.body["dkimSelector"], "herald");
    let published = records(&added);
    assert_eq!(
        published
            .iter()
            .map(|r| (
                r["type"].as_str(),
                r["name"].as_str(),
                r["required"].as_bool()
            ))
            .collect::<Vec<_>>(),
        [
            (
                Some("TXT"),
                Some(format!("herald._domainkey.{domain}").as_str()),
                Some(true)
            ),
            (
                Some("MX"),
                Some(format!("bounce.{domain}").as_str()),
                Some(true)
            ),
            (
                Some("TXT"),
                Some(format!("bounce.{domain}").as_str()),
                Some(true)
            ),
            (
                Some("TXT"),
                Some(format!("_dmarc.{domain}").as_str()),
                Some(false)
            ),
        ]
    );
    assert!(
        published[0]["value"]
            .as_str()
            .is_some_and(|v| v.starts_with("v=DKIM1; k=rsa; p=MII")),
        "{:?}",
        published[0]
    );
    // The private key is never shown.
    assert!(!added.body.to_string().contains("PRIVATE"));

    // SES signs with the account's key: the identity exists with the selector.
    let ses: Value = reqwest::get(format!(
        "{}/moto-api/data.json",
        stack_var("AWS_ENDPOINT_URL")
    ))
    .await
    .expect("moto")
    .json()
    .await
    .expect("JSON");
    assert!(
        ses.to_string().contains(&domain),
        "no SES identity for {domain}"
    );

    // Nothing published yet: every record missing, the domain pending, and it cannot be used.
    let path = format!("/accounts/{account}/domains/{domain}");
    let checked = api.post(&format!("{path}/verify"), json!({})).await;
    assert_eq!(checked.status, 200, "{:?}", checked.body);
    assert_eq!(checked.body["status"], "pending");
    assert!(
        statuses(&checked).iter().all(|(_, s)| s == "missing"),
        "{:?}",
        statuses(&checked)
    );
    let refused = api
        .post(
            &format!("{path}/use"),
            json!({"fromAddressPrefix": "hello"}),
        )
        .await;
    assert_eq!(refused.status, 409);

    // A wrong DKIM key and no SPF: mismatch and missing, with what was found.
    let mut wrong = published.clone();
    wrong[0]["value"] = json!("v=DKIM1; k=rsa; p=AAAA");
    wrong.remove(2);
    publish(&domain, &wrong);
    let checked = api.post(&format!("{path}/verify"), json!({})).await;
    assert_eq!(checked.body["status"], "pending");
    assert_eq!(
        statuses(&checked),
        [
            ("dkim".to_owned(), "mismatch".to_owned()),
            ("mailFromMx".to_owned(), "verified".to_owned()),
            ("mailFromSpf".to_owned(), "missing".to_owned()),
            ("dmarc".to_owned(), "verified".to_owned()),
        ]
    );
    assert_eq!(
        records(&checked)[0]["found"],
        json!(["v=DKIM1; k=rsa; p=AAAA"])
    );

    // Published right: the schedule (fired every few seconds locally) verifies it.
    publish(&domain, &published);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let verified = loop {
        let read = api.get(&path).await;
        if read.body["status"] == "verified" {
            break read;
        }
        assert!(tokio::time::Instant::now() < deadline, "{:?}", read.body);
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(statuses(&verified).iter().all(|(_, s)| s == "verified"));
    let events = receiver.wait_for(1, Duration::from_secs(60)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].json()["eventName"], "domain.verified");
    assert_eq!(events[0].json()["eventData"]["domain"], domain.as_str());

    // In use: email goes out from prefix@domain.
    let used = api
        .post(
            &format!("{path}/use"),
            json!({"fromAddressPrefix": "signing"}),
        )
        .await;
    assert_eq!(used.status, 200, "{:?}", used.body);
    assert_eq!(used.body["inUse"], true);
    let subject = format!("Sign {}", uuid::Uuid::new_v4().simple());
    let id = api
        .send_message(
            account.as_str(),
            "email",
            json!({"to": "signer@example.com", "subject": subject, "text": "Sign here"}),
        )
        .await;
    let record = api.settled(account.as_str(), "email", &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    let data: Value = reqwest::get(format!(
        "{}/moto-api/data.json",
        stack_var("AWS_ENDPOINT_URL")
    ))
    .await
    .expect("moto")
    .json()
    .await
    .expect("JSON");
    let message = data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["subject"] == subject.as_str())
        .cloned()
        .expect("SES got the message");
    assert_eq!(message["source"], format!("Herald <signing@{domain}>"));
    // The settings and the log say so too.
    let settings = api
        .get(&format!("/accounts/{account}/email-settings"))
        .await;
    assert_eq!(
        settings.body["defaultSender"],
        format!("Herald <signing@{domain}>")
    );
    assert_eq!(
        record["message"]["from"],
        format!("signing@{domain}"),
        "{record}"
    );
    let shown = api
        .get(&format!("/accounts/{account}/logs/email/{id}/message"))
        .await;
    assert_eq!(shown.body["from"], format!("signing@{domain}"));

    // In use: it cannot be deleted.
    let refused = api.delete(&format!("{path}?confirm={domain}")).await;
    assert_eq!(refused.status, 409);
}

/// The strings of a TXT value in the quoted form of zone files (`"abc" "def"`, `\\` escaping
/// the next character), read as Route 53 or a zone file reads it.
fn unquote(quoted: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next().expect("a closing quote") {
                        '"' => break,
                        '\\' => s.push(chars.next().expect("an escaped character")),
                        other => s.push(other),
                    }
                }
                strings.push(s);
            }
            ' ' => {}
            other => panic!("{other:?} outside quotes in {quoted}"),
        }
    }
    strings
}

#[tokio::test]
async fn a_digit_selector_and_a_dkim_key_published_as_quoted_strings_verify() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let domain = fresh_domain();
    // Microsoft 365's default selector: lowercase letters and digits.
    let added = add(
        &api,
        &account,
        json!({"domain": domain, "dkimSelector": "selector1"}),
    )
    .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let published = records(&added);
    let dkim = &published[0];
    assert_eq!(dkim["name"], format!("selector1._domainkey.{domain}"));
    let value = dkim["value"].as_str().expect("value");
    assert!(value.len() > 255, "a 2048-bit key: {value}");

    // The long value in the forms DNS hosts take, and a note saying which to use where.
    let strings: Vec<String> =
        serde_json::from_value(dkim["txtStrings"].clone()).expect("txtStrings");
    assert_eq!(strings.len(), 2, "{dkim}");
    assert!(strings.iter().all(|s| s.len() <= 255));
    assert_eq!(strings.concat(), value);
    let quoted = dkim["quotedValue"].as_str().expect("quotedValue");
    assert_eq!(unquote(quoted), strings);
    let note = dkim["note"].as_str().expect("a note on the long record");
    assert!(note.contains("quotedValue"), "{note}");
    // A short TXT record has its quoted form too, and needs no note.
    assert_eq!(
        published[2]["quotedValue"],
        format!("\"{}\"", published[2]["value"].as_str().expect("SPF"))
    );
    assert!(published[2].get("note").is_none(), "{:?}", published[2]);
    assert!(
        published[1].get("quotedValue").is_none(),
        "MX: {:?}",
        published[1]
    );

    // Pasted in quoted form, as Route 53 takes it: DNS serves the strings, verification joins them.
    let zone: Vec<Value> = published
        .iter()
        .map(|r| {
            if r["type"] == "MX" {
                let (preference, host) = r["value"]
                    .as_str()
                    .expect("MX")
                    .split_once(' ')
                    .expect("MX value");
                json!({"name": r["name"], "type": "MX",
                       "preference": preference.parse::<u16>().expect("preference"), "host": host})
            } else {
                json!({"name": r["name"], "type": "TXT",
                       "strings": unquote(r["quotedValue"].as_str().expect("quotedValue"))})
            }
        })
        .collect();
    write_zone(&domain, &zone);
    let checked = api
        .post(
            &format!("/accounts/{account}/domains/{domain}/verify"),
            json!({}),
        )
        .await;
    assert_eq!(checked.status, 200, "{:?}", checked.body);
    assert_eq!(
        checked.body["status"],
        "verified",
        "{:?}",
        statuses(&checked)
    );
    assert_eq!(records(&checked)[0]["found"], json!([value]));
}

#[tokio::test]
async fn domains_are_validated_owned_by_one_account_and_deleted_with_confirmation() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let bad = add(
        &api,
        &account,
        json!({"domain": "not a domain", "dkimSelector": "Herald1", "extra": 1}),
    )
    .await;
    assert_eq!(bad.status, 400);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["dkimSelector", "domain", "extra"]);
    for selector in ["a", "abcdefghijkl", "UPPER", "Selector1", "s-1"] {
        let reply = add(
            &api,
            &account,
            json!({"domain": fresh_domain(), "dkimSelector": selector}),
        )
        .await;
        assert_eq!(reply.error_fields(), ["dkimSelector"], "{selector}");
    }

    // An internationalised name is kept in punycode, shown in Unicode too.
    let idn = format!(
        "bücher-{}.de",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let added = add(&api, &account, json!({"domain": idn})).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let ascii = added.body["domain"].as_str().expect("domain").to_owned();
    assert!(ascii.starts_with("xn--"), "{ascii}");
    assert_eq!(added.body["unicode"], idn.as_str());
    let selector = added.body["dkimSelector"].as_str().expect("generated");
    assert!((2..=11).contains(&selector.len()));

    // Held by this account: another account cannot add it, and sees nothing of it.
    let other = new_account();
    let stranger = Api::internal(other.as_str());
    let taken = add(&stranger, &other, json!({"domain": ascii})).await;
    assert_eq!(taken.status, 409);
    let path = format!("/accounts/{other}/domains/{ascii}");
    assert_eq!(stranger.get(&path).await.status, 404);

    // Deleting takes the domain repeated.
    let path = format!("/accounts/{account}/domains/{ascii}");
    let unconfirmed = api.delete(&path).await;
    assert_eq!(unconfirmed.status, 400);
    assert_eq!(unconfirmed.error_fields(), ["confirm"]);
    let wrong = api.delete(&format!("{path}?confirm=other.com")).await;
    assert_eq!(wrong.status, 400);
    let deleted = api.delete(&format!("{path}?confirm={ascii}")).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(api.get(&path).await.status, 404);
    // Freed: another account may add it now.
    let taken = add(&stranger, &other, json!({"domain": ascii})).await;
    assert_eq!(taken.status, 201, "{:?}", taken.body);
    let list = api.get(&format!("/accounts/{account}/domains")).await;
    assert_eq!(list.body["items"], json!([]));
}
