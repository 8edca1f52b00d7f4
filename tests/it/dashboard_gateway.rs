//! The dashboard as API Gateway serves it: its routes need no token (the session cookie is the
//! dashboard's own), a platform's link signs in once, and a page's change reaches the API.

use herald_tests::api::Api;
use herald_tests::{new_account, stack_var};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// A one-time link, as the platform asks for it.
async fn link(api: &Api, account: &str, role: &str) -> String {
    let reply = api
        .post(
            &format!("/accounts/{account}/dashboard-sessions"),
            json!({"role": role, "organization": "Acme Group"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["url"].as_str().expect("a url").to_owned()
}

#[tokio::test]
async fn a_link_signs_in_once_and_the_pages_need_no_token() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let base = stack_var("HERALD_TEST_API_URL");
    let url = link(&api, account.as_str(), "admin").await;
    assert!(
        url.starts_with(&format!("{base}/dashboard/sign-in?token=")),
        "{url}"
    );

    let http = client();
    let signed_in = http.get(&url).send().await.expect("sent");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        signed_in.headers()[LOCATION],
        format!("/dashboard/accounts/{account}").as_str()
    );
    let cookie = signed_in.headers()[SET_COOKIE]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(
        cookie.starts_with("herald-session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().expect("a pair").to_owned();

    let page = http
        .get(format!("{base}/dashboard/accounts/{account}"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("text")
            .starts_with("text/html")
    );
    assert!(
        page.text()
            .await
            .expect("a body")
            .contains("<h1>Overview</h1>")
    );

    // The link again: used up.
    let again = http.get(&url).send().await.expect("sent");
    assert_eq!(again.status(), StatusCode::GONE);

    // Without the cookie: the dashboard's own refusal (an HTML page), not the authorizer's.
    let anonymous = http
        .get(format!("{base}/dashboard/accounts/{account}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        anonymous
            .text()
            .await
            .expect("a body")
            .contains("Signed out")
    );
}

#[tokio::test]
async fn a_change_made_on_a_page_is_what_the_api_reads() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let base = stack_var("HERALD_TEST_API_URL");
    let http = client();
    let signed_in = http
        .get(link(&api, account.as_str(), "admin").await)
        .send()
        .await
        .expect("sent");
    let cookie = signed_in.headers()[SET_COOKIE]
        .to_str()
        .expect("text")
        .split(';')
        .next()
        .expect("a pair")
        .to_owned();
    let form = http
        .get(format!("{base}/dashboard/accounts/{account}/sms/edit"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("a body");
    let csrf = form
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF token")
        .to_owned();
    let saved = http
        .post(format!("{base}/dashboard/accounts/{account}/sms"))
        .header(COOKIE, &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("senderName", "AcmeDash"),
            ("primaryProvider", "sns"),
            ("secondaryProvider", ""),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let settings = api.get(&format!("/accounts/{account}/sms-settings")).await;
    assert_eq!(settings.body["senderName"], "AcmeDash");

    // Without the token, nothing changes.
    let refused = http
        .post(format!("{base}/dashboard/accounts/{account}/sms"))
        .header(COOKIE, &cookie)
        .form(&[("senderName", "Forged"), ("primaryProvider", "sns")])
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let settings = api.get(&format!("/accounts/{account}/sms-settings")).await;
    assert_eq!(settings.body["senderName"], "AcmeDash");
}

/// The dev stack's sign-in (`cargo xtask dev` prints it): each visit a fresh link, as a
/// platform would ask for, which then signs in.
#[tokio::test]
async fn the_local_sign_in_hands_out_a_fresh_link_each_time() {
    let services = stack_var("HERALD_TEST_FAKES_URL");
    let base = stack_var("HERALD_TEST_API_URL");
    let http = client();
    let mut links = Vec::new();
    for _ in 0..2 {
        let answer = http
            .get(format!("{services}/dashboard?role=viewer"))
            .send()
            .await
            .expect("sent");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        let link = answer.headers()[LOCATION]
            .to_str()
            .expect("text")
            .to_owned();
        assert!(
            link.starts_with(&format!("{base}/dashboard/sign-in?token=")),
            "{link}"
        );
        links.push(link);
    }
    assert_ne!(links[0], links[1]);
    let signed_in = http.get(&links[1]).send().await.expect("sent");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()[LOCATION], "/dashboard/accounts/acme");
}
