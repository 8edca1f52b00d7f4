//! Who may call: the claims of API Gateway's JWT authorizer, the accounts they grant and the
//! internal scope.

use serde_json::json;

use crate::harness::{Caller, Herald, Req, get, post};

fn claims(pairs: &[(&'static str, &str)], scopes: Option<&[&str]>) -> Caller {
    Caller::Claims {
        claims: pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        scopes: scopes.map(|s| s.iter().map(|s| (*s).to_owned()).collect()),
    }
}

fn send_sms(account: &str) -> Req {
    post(format!("/accounts/{account}/messages/sms"))
        .json(json!({"to": "+4712345678", "text": "Hi"}))
}

#[tokio::test]
async fn a_request_without_the_authorizers_claims_is_unauthorized() {
    let h = Herald::new().await;
    let no_claims = claims(&[], None);
    for caller in [Caller::Nobody, no_claims] {
        for request in [
            get("/sms-providers"),
            get("/event-types"),
            get("/accounts/acme/sms-settings"),
            send_sms("acme"),
            get("/accounts/acme/deliveries"),
            // Unknown paths too: the fallback sits behind the authorizer as well.
            get("/nowhere"),
        ] {
            let answer = h.call(request.by(caller.clone())).await;
            assert_eq!(
                answer.detail(401),
                "the request did not pass the API's authorizer"
            );
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
        }
    }
    assert!(h.send_queue.jobs().is_empty());
}

#[tokio::test]
async fn the_accounts_claim_grants_the_accounts_it_lists() {
    let h = Herald::new().await;
    for granted in [
        "acme globex",
        "[acme globex]",
        "acme,globex",
        " globex  acme ",
    ] {
        let caller = claims(&[("sub", "alice"), ("herald:accounts", granted)], None);
        for account in ["acme", "globex"] {
            h.call(get(format!("/accounts/{account}/sms-settings")).by(caller.clone()))
                .await
                .ok(200);
        }
        h.call(get("/accounts/initech/sms-settings").by(caller))
            .await
            .problem(404);
    }
    // Account ids are compared exactly.
    let other_case = claims(&[("herald:accounts", "ACME")], None);
    h.call(get("/accounts/acme/sms-settings").by(other_case))
        .await
        .problem(404);
    // `*` grants every account.
    let everyone = claims(&[("herald:accounts", "*")], None);
    for account in ["acme", "initech", "a-spge-IL9J9flqic18sh4TsUAo"] {
        h.call(get(format!("/accounts/{account}/email-settings")).by(everyone.clone()))
            .await
            .ok(200);
    }
}

#[tokio::test]
async fn a_token_without_accounts_sees_none_but_reads_what_is_not_an_accounts() {
    let h = Herald::new().await;
    let caller = claims(&[("sub", "svc"), ("scope", "herald:internal")], None);
    h.call(get("/accounts/acme/sms-settings").by(caller.clone()))
        .await
        .problem(404);
    h.call(send_sms("acme").by(caller.clone()))
        .await
        .problem(404);
    h.call(get("/sms-providers").by(caller.clone()))
        .await
        .ok(200);
    h.call(get("/event-types").by(caller)).await.ok(200);
}

#[tokio::test]
async fn the_internal_scope_comes_from_the_scope_claim_or_the_tokens_scopes() {
    let h = Herald::new().await;
    let in_claim = claims(
        &[
            ("herald:accounts", "acme"),
            ("scope", "openid herald:internal"),
        ],
        None,
    );
    let in_scopes = claims(
        &[("herald:accounts", "acme")],
        Some(&["openid", "herald:internal"]),
    );
    for caller in [in_claim, in_scopes] {
        h.call(send_sms("acme").by(caller.clone())).await.ok(202);
        h.call(
            post("/accounts/acme/events")
                .by(caller)
                .json(json!({"sender": "billing", "eventName": "invoice.paid"})),
        )
        .await
        .ok(202);
    }
    assert_eq!(h.send_queue.jobs().len(), 2);
    assert_eq!(h.events_queue.jobs().len(), 2);

    for not_internal in [
        claims(
            &[("herald:accounts", "acme"), ("scope", "herald:internals")],
            None,
        ),
        claims(
            &[("herald:accounts", "acme"), ("scope", "openid")],
            Some(&["herald"]),
        ),
        claims(&[("herald:accounts", "acme herald:internal")], None),
    ] {
        h.call(send_sms("acme").by(not_internal.clone()))
            .await
            .problem(403);
        h.call(
            post("/accounts/acme/events")
                .by(not_internal)
                .json(json!({"sender": "billing", "eventName": "invoice.paid"})),
        )
        .await
        .problem(403);
    }
    assert_eq!(h.send_queue.jobs().len(), 2);
}

#[tokio::test]
async fn a_token_granting_every_account_still_needs_the_internal_scope_to_send() {
    let h = Herald::new().await;
    let admin_of_all = claims(&[("herald:accounts", "*")], None);
    h.call(send_sms("acme").by(admin_of_all)).await.problem(403);
    let service_of_all = claims(
        &[("herald:accounts", "*"), ("scope", "herald:internal")],
        None,
    );
    h.call(send_sms("initech").by(service_of_all)).await.ok(202);
}
