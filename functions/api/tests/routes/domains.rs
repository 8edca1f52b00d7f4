//! `/accounts/{accountId}/domains`: adding, listing, verifying, using and deleting a sending
//! domain.

use std::sync::atomic::Ordering;

use herald::common::seal::SecretSealer;
use herald::domains::store::{DomainRecord, DomainStore};
use herald::domains::{DkimKeyPair, SendingDomain};
use serde_json::{Value, json};

use crate::harness::{Caller, Herald, acme, delete, get, post};

const URL: &str = "/accounts/acme/domains";

/// Adds `domain` with selector `s1`; the answer's body.
async fn add(h: &Herald, domain: &str) -> Value {
    h.call(post(URL).json(json!({"domain": domain, "dkimSelector": "s1"})))
        .await
        .ok(201)
}

async fn stored(h: &Herald, domain: &str) -> Option<DomainRecord> {
    h.domains
        .get(&SendingDomain::parse(domain).expect("a domain"))
        .await
        .expect("read")
}

/// Publishes every record a domain's answer lists, as its owner would at their DNS host.
fn publish(h: &Herald, domain: &Value) {
    for record in domain["dnsRecords"].as_array().expect("records") {
        let name = record["name"].as_str().expect("name");
        let value = record["value"].as_str().expect("value");
        match record["type"].as_str() {
            Some("TXT") => h.dns.set_txt(name, [value]),
            Some("MX") => {
                let (preference, host) = value.split_once(' ').expect("preference host");
                h.dns
                    .set_mx(name, [(preference.parse().expect("a number"), host)]);
            }
            other => panic!("record type {other:?}"),
        }
    }
}

/// A domain added, published and verified.
async fn verified(h: &Herald, domain: &str) -> Value {
    let added = add(h, domain).await;
    publish(h, &added);
    let checked = h.call(post(format!("{URL}/{domain}/verify"))).await.ok(200);
    assert_eq!(checked["status"], "verified", "{checked}");
    checked
}

/// The names of the events queued, in order.
fn event_names(h: &Herald) -> Vec<String> {
    h.events_queue
        .jobs()
        .iter()
        .map(|e| e.event_name().as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn an_added_domain_lists_the_records_to_publish() {
    let h = Herald::new().await;
    let added = add(&h, "acme-mail.com").await;
    assert_eq!(added["domain"], "acme-mail.com");
    assert!(added.get("unicode").is_none(), "{added}");
    assert_eq!(added["status"], "pending");
    assert_eq!(added["dkimSelector"], "s1");
    assert_eq!(added["inUse"], false);
    assert_eq!(added["addedAt"], "2030-01-15T09:30:00Z");
    for absent in ["checkedAt", "verifiedAt", "fromAddressPrefix"] {
        assert!(added.get(absent).is_none(), "{absent}: {added}");
    }
    let records = added["dnsRecords"].as_array().expect("records");
    let summary: Vec<(&str, &str, &str, bool)> = records
        .iter()
        .map(|r| {
            (
                r["purpose"].as_str().expect("purpose"),
                r["type"].as_str().expect("type"),
                r["name"].as_str().expect("name"),
                r["required"].as_bool().expect("required"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("dkim", "TXT", "s1._domainkey.acme-mail.com", true),
            ("mailFromMx", "MX", "bounce.acme-mail.com", true),
            ("mailFromSpf", "TXT", "bounce.acme-mail.com", true),
            ("dmarc", "TXT", "_dmarc.acme-mail.com", false),
        ]
    );
    assert!(records.iter().all(|r| r["status"] == "pending"));
    assert_eq!(
        records[1]["value"],
        "10 feedback-smtp.eu-west-1.amazonses.com"
    );
    assert!(records[1].get("txtStrings").is_none());
    // The DKIM key is longer than one TXT string: its parts and how to publish them.
    let dkim = &records[0];
    let value = dkim["value"].as_str().expect("value");
    assert!(value.starts_with("v=DKIM1; k=rsa; p="), "{value}");
    let strings: Vec<&str> = dkim["txtStrings"]
        .as_array()
        .expect("strings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(strings.len() > 1 && strings.iter().all(|s| s.len() <= 255));
    assert_eq!(strings.concat(), value);
    assert!(
        dkim["quotedValue"]
            .as_str()
            .is_some_and(|q| q.starts_with("\"v=DKIM1"))
    );
    assert!(dkim["note"].is_string());

    // SES was given the identity and its MAIL FROM; the private key is sealed for the account.
    assert_eq!(
        h.identities.calls(),
        ["create acme-mail.com s1", "mail-from acme-mail.com"]
    );
    let record = stored(&h, "acme-mail.com").await.expect("stored");
    assert_eq!(record.account_id, acme());
    let key = h
        .sealer
        .open(&acme(), &record.sealed_private_key)
        .await
        .expect("opens");
    // The key SES signs with, whose public half the DKIM record publishes.
    assert_eq!(h.identities.private_keys(), [key.expose().to_owned()]);
    let pair = DkimKeyPair::from_private_key(&key).expect("a DKIM key");
    assert_eq!(pair.public_key(), &record.public_key);
    assert_eq!(
        value,
        format!("v=DKIM1; k=rsa; p={}", pair.public_key().as_str())
    );
    assert!(
        !String::from_utf8_lossy(&serde_json::to_vec(&added).expect("json")).contains(key.expose())
    );
}

#[tokio::test]
async fn names_are_kept_in_ascii_and_selectors_generated_when_absent() {
    let h = Herald::new().await;
    let added = h
        .call(post(URL).json(json!({"domain": "Bücher.DE."})))
        .await
        .ok(201);
    assert_eq!(added["domain"], "xn--bcher-kva.de");
    assert_eq!(added["unicode"], "bücher.de");
    let selector = added["dkimSelector"].as_str().expect("a selector");
    assert!(
        (2..=11).contains(&selector.len())
            && selector
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{selector}"
    );
    assert_eq!(
        added["dnsRecords"][0]["name"],
        format!("{selector}._domainkey.xn--bcher-kva.de")
    );
    h.call(get(format!("{URL}/xn--bcher-kva.de"))).await.ok(200);
}

#[tokio::test]
async fn every_invalid_field_is_named() {
    let h = Herald::new().await;
    let missing = h.call(post(URL).json(json!({}))).await;
    assert_eq!(missing.invalid_fields(), ["domain"]);
    let wrong = h
        .call(post(URL).json(json!({"domain": "acme.test", "dkimSelector": "S!", "region": "eu"})))
        .await;
    assert_eq!(wrong.invalid_fields(), ["domain", "dkimSelector", "region"]);
    for domain in ["localhost", "acme mail.com", "acme.example", "a%2e.com"] {
        let answer = h.call(post(URL).json(json!({"domain": domain}))).await;
        assert_eq!(answer.invalid_fields(), ["domain"], "{domain}");
    }
    assert!(h.identities.calls().is_empty());
}

#[tokio::test]
async fn a_domain_already_held_is_a_conflict() {
    let h = Herald::new().await;
    add(&h, "acme-mail.com").await;
    let again = h
        .call(post(URL).json(json!({"domain": "acme-mail.com"})))
        .await;
    assert_eq!(
        again.detail(409),
        "acme-mail.com is already one of this account's domains"
    );
    let by_globex = h
        .call(
            post("/accounts/globex/domains")
                .by(Caller::admin("globex"))
                .json(json!({"domain": "ACME-mail.com"})),
        )
        .await;
    assert_eq!(
        by_globex.detail(409),
        "acme-mail.com is held by another account"
    );
    assert_eq!(h.identities.calls().len(), 2, "SES was asked once");
    assert_eq!(
        stored(&h, "acme-mail.com")
            .await
            .expect("stored")
            .account_id,
        acme()
    );
}

#[tokio::test]
async fn a_domain_ses_refuses_is_not_kept() {
    let h = Herald::new().await;
    h.identities.fail_create.store(true, Ordering::SeqCst);
    let refused = h
        .call(post(URL).json(json!({"domain": "acme-mail.com", "dkimSelector": "s1"})))
        .await;
    let body = refused.problem(500);
    assert_eq!(
        body["detail"],
        "Herald could not complete the request; try again later."
    );
    assert!(!String::from_utf8_lossy(&refused.body).contains("Throttling"));
    assert!(stored(&h, "acme-mail.com").await.is_none());
    h.call(get(format!("{URL}/acme-mail.com")))
        .await
        .problem(404);

    // The name is free for another try.
    h.identities.fail_create.store(false, Ordering::SeqCst);
    add(&h, "acme-mail.com").await;
    assert_eq!(
        h.identities.calls(),
        [
            "create acme-mail.com s1",
            "create acme-mail.com s1",
            "mail-from acme-mail.com"
        ]
    );
}

#[tokio::test]
async fn a_mail_from_that_ses_refuses_leaves_the_domain_added() {
    let h = Herald::new().await;
    h.identities.fail_mail_from.store(true, Ordering::SeqCst);
    add(&h, "acme-mail.com").await;
    assert!(stored(&h, "acme-mail.com").await.is_some());
}

#[tokio::test]
async fn the_list_and_one_domain_show_the_accounts_domains_only() {
    let h = Herald::new().await;
    add(&h, "zeta-acme.com").await;
    add(&h, "acme-mail.com").await;
    h.call(
        post("/accounts/globex/domains")
            .by(Caller::internal("globex"))
            .json(json!({"domain": "globex-mail.com"})),
    )
    .await
    .ok(201);

    let list = h.call(get(URL)).await.ok(200);
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|d| d["domain"].as_str())
        .collect();
    assert_eq!(names, ["acme-mail.com", "zeta-acme.com"]);
    let one = h.call(get(format!("{URL}/acme-mail.com"))).await.ok(200);
    assert_eq!(one, list["items"][0]);
    // In either form and any case.
    let upper = h.call(get(format!("{URL}/ACME-MAIL.COM"))).await.ok(200);
    assert_eq!(upper["domain"], "acme-mail.com");

    for path in [
        format!("{URL}/globex-mail.com"),
        format!("{URL}/unknown-acme.com"),
        format!("{URL}/not..a..domain"),
        "/accounts/globex/domains".to_owned(),
        "/accounts/globex/domains/globex-mail.com".to_owned(),
    ] {
        h.call(get(&path)).await.problem(404);
    }
    for answer in [
        h.call(post(format!("{URL}/globex-mail.com/verify"))).await,
        h.call(post(format!("{URL}/globex-mail.com/use")).json(json!({"fromAddressPrefix": "x"})))
            .await,
        h.call(delete(format!(
            "{URL}/globex-mail.com?confirm=globex-mail.com"
        )))
        .await,
        h.call(post("/accounts/globex/domains").json(json!({"domain": "x-acme.com"})))
            .await,
    ] {
        answer.problem(404);
    }
}

#[tokio::test]
async fn verify_now_finds_the_published_records() {
    let h = Herald::new().await;
    let added = add(&h, "acme-mail.com").await;
    h.clock.advance(time::Duration::minutes(10));

    // Nothing published yet: every record missing, the domain still pending.
    let first = h
        .call(post(format!("{URL}/acme-mail.com/verify")))
        .await
        .ok(200);
    assert_eq!(first["status"], "pending");
    assert_eq!(first["checkedAt"], "2030-01-15T09:40:00Z");
    assert!(first.get("verifiedAt").is_none());
    assert!(
        first["dnsRecords"]
            .as_array()
            .expect("records")
            .iter()
            .all(|r| r["status"] == "missing" && r["found"] == json!([])),
        "{first}"
    );
    assert!(event_names(&h).is_empty());

    publish(&h, &added);
    h.clock.advance(time::Duration::minutes(5));
    let second = h
        .call(post(format!("{URL}/acme-mail.com/verify")))
        .await
        .ok(200);
    assert_eq!(second["status"], "verified");
    assert_eq!(second["verifiedAt"], "2030-01-15T09:45:00Z");
    let records = second["dnsRecords"].as_array().expect("records");
    assert!(
        records.iter().all(|r| r["status"] == "verified"),
        "{second}"
    );
    assert_eq!(
        records[1]["found"],
        json!(["10 feedback-smtp.eu-west-1.amazonses.com"])
    );
    assert_eq!(event_names(&h), ["domain.verified"]);
    let event = &h.events_queue.jobs()[0];
    assert_eq!(event.event_data()["domain"], "acme-mail.com");
    assert_eq!(event.account_id(), &acme());
    // What GET shows now.
    let shown = h.call(get(format!("{URL}/acme-mail.com"))).await.ok(200);
    assert_eq!(shown, second);
}

#[tokio::test]
async fn a_wrong_record_is_a_mismatch_and_a_dns_outage_changes_nothing() {
    let h = Herald::new().await;
    let added = add(&h, "acme-mail.com").await;
    publish(&h, &added);
    h.dns
        .set_txt("s1._domainkey.acme-mail.com", ["v=DKIM1; k=rsa; p=AAAA"]);
    let checked = h
        .call(post(format!("{URL}/acme-mail.com/verify")))
        .await
        .ok(200);
    assert_eq!(checked["status"], "pending");
    assert_eq!(checked["dnsRecords"][0]["status"], "mismatch");
    assert_eq!(
        checked["dnsRecords"][0]["found"],
        json!(["v=DKIM1; k=rsa; p=AAAA"])
    );

    // Three days on, DNS down: unknown, not failed.
    h.clock.advance(time::Duration::hours(73));
    h.dns.set_unavailable("s1._domainkey.acme-mail.com");
    let outage = h
        .call(post(format!("{URL}/acme-mail.com/verify")))
        .await
        .ok(200);
    assert_eq!(outage["status"], "pending");
    assert_eq!(outage["dnsRecords"][0]["status"], "unknown");
    assert!(event_names(&h).is_empty());

    // DNS answering, the record still wrong: failed.
    h.dns.set_available("s1._domainkey.acme-mail.com");
    let failed = h
        .call(post(format!("{URL}/acme-mail.com/verify")))
        .await
        .ok(200);
    assert_eq!(failed["status"], "failed");
    assert_eq!(event_names(&h), ["domain.failed"]);
}

#[tokio::test]
async fn a_verified_domain_can_be_put_in_use_once() {
    let h = Herald::new().await;
    let pending = add(&h, "pending-acme.com").await;
    let not_yet = h
        .call(
            post(format!("{URL}/pending-acme.com/use")).json(json!({"fromAddressPrefix": "hello"})),
        )
        .await;
    assert!(
        not_yet.detail(409).contains("not verified yet"),
        "{not_yet:?}"
    );
    assert_eq!(pending["inUse"], false);

    verified(&h, "acme-mail.com").await;
    let used = h
        .call(post(format!("{URL}/acme-mail.com/use")).json(json!({"fromAddressPrefix": "hello"})))
        .await
        .ok(200);
    assert_eq!(used["inUse"], true);
    assert_eq!(used["fromAddressPrefix"], "hello");
    // The account's mail now comes from it.
    let email = h.call(get("/accounts/acme/email-settings")).await.ok(200);
    assert_eq!(email["defaultSender"], "Herald <hello@acme-mail.com>");

    let again = h
        .call(post(format!("{URL}/acme-mail.com/use")).json(json!({"fromAddressPrefix": "other"})))
        .await;
    assert_eq!(again.detail(409), "acme-mail.com is already in use");
    verified(&h, "acme-news.com").await;
    let second = h
        .call(post(format!("{URL}/acme-news.com/use")).json(json!({"fromAddressPrefix": "news"})))
        .await;
    assert!(
        second.detail(409).contains("another domain is in use"),
        "{second:?}"
    );
    assert!(!stored(&h, "acme-news.com").await.expect("stored").in_use);
}

#[tokio::test]
async fn use_names_every_invalid_field() {
    let h = Herald::new().await;
    verified(&h, "acme-mail.com").await;
    let url = format!("{URL}/acme-mail.com/use");
    let missing = h.call(post(&url).json(json!({}))).await;
    assert_eq!(missing.invalid_fields(), ["fromAddressPrefix"]);
    let wrong = h
        .call(post(&url).json(json!({"fromAddressPrefix": "two words", "senderName": "x"})))
        .await;
    assert_eq!(wrong.invalid_fields(), ["fromAddressPrefix", "senderName"]);
    h.call(post(&url).raw("text/plain", "hello"))
        .await
        .problem(415);
    assert!(!stored(&h, "acme-mail.com").await.expect("stored").in_use);
}

#[tokio::test]
async fn delete_needs_the_domain_repeated_and_never_takes_the_one_in_use() {
    let h = Herald::new().await;
    add(&h, "acme-mail.com").await;
    for query in [
        "",
        "?confirm=",
        "?confirm=acme-mail.net",
        "?confirm=mail.com",
    ] {
        let answer = h.call(delete(format!("{URL}/acme-mail.com{query}"))).await;
        assert_eq!(answer.invalid_fields(), ["confirm"], "{query}");
        assert_eq!(
            answer.message_for("confirm"),
            "must repeat the domain (acme-mail.com) to confirm the deletion"
        );
    }
    assert!(stored(&h, "acme-mail.com").await.is_some());

    let deleted = h
        .call(delete(format!("{URL}/acme-mail.com?confirm=ACME-mail.com")))
        .await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    assert!(stored(&h, "acme-mail.com").await.is_none());
    assert_eq!(
        h.identities.calls().last().map(String::as_str),
        Some("delete acme-mail.com")
    );
    h.call(get(format!("{URL}/acme-mail.com")))
        .await
        .problem(404);

    verified(&h, "acme-news.com").await;
    h.call(post(format!("{URL}/acme-news.com/use")).json(json!({"fromAddressPrefix": "news"})))
        .await
        .ok(200);
    let in_use = h
        .call(delete(format!("{URL}/acme-news.com?confirm=acme-news.com")))
        .await;
    assert_eq!(
        in_use.detail(409),
        "acme-news.com is in use: the account sends from it"
    );
    assert!(stored(&h, "acme-news.com").await.is_some());
}

#[tokio::test]
async fn a_domain_ses_would_not_let_go_is_kept() {
    let h = Herald::new().await;
    add(&h, "acme-mail.com").await;
    h.identities.fail_delete.store(true, Ordering::SeqCst);
    h.call(delete(format!("{URL}/acme-mail.com?confirm=acme-mail.com")))
        .await
        .problem(500);
    assert!(stored(&h, "acme-mail.com").await.is_some());
}

#[tokio::test]
async fn unicode_names_confirm_their_deletion_in_either_form() {
    let h = Herald::new().await;
    h.call(post(URL).json(json!({"domain": "bücher.de"})))
        .await
        .ok(201);
    let deleted = h
        .call(delete(format!(
            "{URL}/xn--bcher-kva.de?confirm=b%C3%BCcher.de"
        )))
        .await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
}
