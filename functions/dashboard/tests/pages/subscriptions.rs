//! The Subscriptions pages: the list, adding and editing (each refusal next to its field),
//! the signing secret shown once, events round-tripping, previews, a stale edit, delete and
//! rotate behind confirmations, test events, and what a viewer does not see.

use axum::http::StatusCode;
use herald::common::account::AccountId;
use herald::dashboard::Role;
use herald::events::catalog;
use herald::events::destination::Destination;
use herald::events::subscription::{Subscription, SubscriptionStore};

use crate::harness::{Browser, Dashboard, Page};

const LIST: &str = "/dashboard/accounts/acme/subscriptions";
const URL: &str = "https://hooks.acme.example/herald";

fn acme() -> AccountId {
    AccountId::parse("acme").expect("valid")
}

async fn stored(d: &Dashboard) -> Vec<Subscription> {
    d.subscriptions.list(&acme()).await.expect("listed")
}

/// Adds a subscription through the form: these fields over a valid default (named Orders,
/// not signed, active, listening to everything); a box given as "" is left unticked.
async fn add(b: &mut Browser<'_>, fields: &[(&str, &str)]) -> Page {
    b.get(&format!("{LIST}/new")).await;
    let mut all: Vec<(&str, &str)> = Vec::new();
    for (k, v) in [
        ("name", "Orders"),
        ("url", URL),
        ("tagFilter", ""),
        ("active", "on"),
        ("listen", "all"),
    ] {
        if !fields.iter().any(|(f, _)| *f == k) {
            all.push((k, v));
        }
    }
    // An unticked box sends nothing.
    all.extend(
        fields
            .iter()
            .filter(|(k, v)| !(matches!(*k, "active" | "secret") && v.is_empty()))
            .copied(),
    );
    b.submit(LIST, &all).await
}

/// The text of the element with this id (up to its closing tag).
fn text_of<'a>(page: &'a Page, id: &str) -> &'a str {
    page.body
        .split(&format!("id=\"{id}\">"))
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_else(|| panic!("no #{id} in {}", page.body))
}

/// The edit form's version tag, as the browser would send it back.
fn etag_of(page: &Page) -> String {
    page.body
        .split("name=\"etag\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a version tag in the form")
        .replace("&quot;", "\"")
}

#[tokio::test]
async fn the_empty_list_says_what_a_subscription_does_and_how_to_add_one() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let page = b.get(LIST).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"aria-current="page">Subscriptions</a>"#)
    );
    assert!(page.shows("No subscription yet. A subscription sends the events you choose"));
    assert!(
        page.body.contains(&format!(
            r#"<a class="button" href="{LIST}/new">Add subscription</a>"#
        )),
        "{}",
        page.body
    );

    let mut viewer = d.sign_in(Role::Viewer, &["acme"]).await;
    let page = viewer.get(LIST).await;
    assert!(page.shows("No subscription yet."));
    assert!(!page.shows("Add subscription"));
}

#[tokio::test]
async fn an_added_subscription_is_listed_with_its_events_tags_and_status() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let form = b.get(&format!("{LIST}/new")).await;
    assert_eq!(form.status, StatusCode::OK);
    for label in [
        r#"<label for="f-name">Name</label>"#,
        r#"<label for="f-url">Webhook URL</label>"#,
        r#"<label for="f-secret">Sign requests with a secret</label>"#,
        r#"<label for="f-tagFilter">Tag filter</label>"#,
        r#"<label for="f-active">Active</label>"#,
        r#"<label for="f-listen-all">All available services</label>"#,
        r#"<label for="f-listen-selected">Selected events</label>"#,
        r#"<button type="submit">Add</button>"#,
    ] {
        assert!(form.body.contains(label), "{label}");
    }
    assert!(form.shows(
        "An event must carry every tag listed; a tag ending in * matches any tag that starts \
         with what comes before it"
    ));
    let added = add(&mut b, &[("tagFilter", "order-*, eu")]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), Some(&*format!("{LIST}?created=1")));
    let subs = stored(&d).await;
    assert_eq!(subs.len(), 1);
    assert!(
        subs[0].secrets().is_empty(),
        "not signed: the box was not ticked"
    );
    assert_eq!(subs[0].tag_filter.entries(), ["order-*", "eu"]);

    add(
        &mut b,
        &[
            ("name", "Paused"),
            ("active", ""),
            ("listen", "selected"),
            ("event", "sms.sent"),
            ("event", "sms.failed"),
        ],
    )
    .await;
    let list = b.get(&format!("{LIST}?created=1")).await;
    assert!(list.shows("Subscription added."));
    assert!(list.shows(URL));
    assert!(list.body.contains("<td>All</td>") && list.body.contains("<td>2 selected</td>"));
    assert!(list.body.contains("<code>order-*</code> <code>eu</code>"));
    assert!(list.body.contains(r#"class="badge status-active">active<"#));
    let paused = stored(&d)
        .await
        .into_iter()
        .find(|s| s.name.as_str() == "Paused")
        .expect("stored");
    assert!(!paused.active, "an unticked Active box pauses it");
    assert!(list.body.contains(">inactive<"));
    assert!(
        list.body.contains(&format!(
            r#"href="{LIST}/{}">Paused</a>"#,
            paused.id.as_str()
        )),
        "the name links to its page"
    );
    assert!(list.shows("Test events"));
}

#[tokio::test]
async fn each_refusal_is_shown_next_to_its_field_with_what_was_typed() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let refused = add(
        &mut b,
        &[
            ("name", ""),
            ("url", "http://hooks.acme.example/herald"),
            ("tagFilter", "ok, a*b *"),
            ("listen", "selected"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(text_of(&refused, "f-name-error").contains("must be 1 to 100 characters"));
    assert_eq!(text_of(&refused, "f-url-error"), "must use https, not http");
    let tags = text_of(&refused, "f-tagFilter-error");
    assert!(
        tags.contains("“a*b” may hold only one *, at the end"),
        "{tags}"
    );
    assert!(tags.contains("“*” a lone * is not a filter"), "{tags}");
    assert!(!tags.contains("“ok”"), "{tags}");
    assert!(text_of(&refused, "f-events-error").contains("must name at least one event"));
    // What was typed is kept, and the choice of events too.
    assert!(
        refused
            .body
            .contains(r#"value="http://hooks.acme.example/herald""#)
    );
    assert!(refused.body.contains(r#"value="ok, a*b *""#));
    assert!(
        refused
            .body
            .contains(r#"name="listen" value="selected" checked"#)
    );
    assert!(refused.body.contains(r#"aria-invalid="true""#));
    assert!(stored(&d).await.is_empty(), "nothing added");

    // A URL the operator's policy refuses.
    let private = add(&mut b, &[("url", "https://10.0.0.7/hook")]).await;
    assert_eq!(private.status, StatusCode::BAD_REQUEST);
    assert!(text_of(&private, "f-url-error").contains("must not point at"));
    assert!(private.body.contains(r#"value="https://10.0.0.7/hook""#));
    assert!(stored(&d).await.is_empty());
}

#[tokio::test]
async fn the_secret_is_shown_once_with_a_copy_button_and_never_again() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let shown = add(&mut b, &[("secret", "on")]).await;
    assert_eq!(shown.status, StatusCode::CREATED, "{}", shown.body);
    assert!(shown.shows("Subscription Orders added."));
    assert!(shown.shows("Copy this secret now: it will not be shown again."));
    let secret = text_of(&shown, "signing-secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(shown.body.contains(r#"data-copy="signing-secret""#));
    let id = stored(&d).await[0].id.as_str().to_owned();
    assert!(
        shown
            .body
            .contains(&format!(r#"href="{LIST}/{id}">Go to the subscription</a>"#))
    );

    let page = b.get(&format!("{LIST}/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("Requests are signed with a secret."));
    assert!(
        page.body
            .contains(r#"id="f-secret" type="checkbox" name="secret" value="on" checked"#)
    );
    for p in [&page, &b.get(LIST).await] {
        assert!(!p.body.contains(&secret) && !p.body.contains("whsec_"));
    }
}

#[tokio::test]
async fn selected_events_stay_checked_on_the_edit_page_and_an_update_keeps_them() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add(
        &mut b,
        &[
            ("listen", "selected"),
            ("event", "sms.sent"),
            ("event", "domain.verified"),
            ("tagFilter", "mock"),
        ],
    )
    .await;
    let id = stored(&d).await[0].id.as_str().to_owned();
    let page = b.get(&format!("{LIST}/{id}")).await;
    assert!(page.body.contains("<h1>Orders</h1>"));
    assert!(
        page.body
            .contains(r#"name="listen" value="selected" checked"#)
    );
    assert!(
        page.body
            .contains(r#"name="event" value="sms.sent" checked"#)
    );
    assert!(
        page.body
            .contains(r#"name="event" value="domain.verified" checked"#)
    );
    assert!(
        page.body
            .contains(r#"name="event" value="email.sent" aria-describedby"#),
        "an event not chosen is not ticked"
    );
    assert!(
        page.body
            .contains(r#"id="f-tagFilter" name="tagFilter" type="text" value="mock""#)
    );
    assert!(
        page.body
            .contains(r#"<button type="submit">Update</button>"#)
    );

    // Update with the boxes as shown, plus one more and a new name.
    let etag = etag_of(&page);
    let saved = b
        .submit(
            &format!("{LIST}/{id}"),
            &[
                ("etag", &etag),
                ("name", "Orders EU"),
                ("url", URL),
                ("tagFilter", "mock"),
                ("active", "on"),
                ("listen", "selected"),
                ("event", "sms.sent"),
                ("event", "domain.verified"),
                ("event", "email.opened"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), Some(&*format!("{LIST}?saved=1")));
    let s = &stored(&d).await[0];
    assert_eq!(s.name.as_str(), "Orders EU");
    assert_eq!(
        s.events.to_json(),
        serde_json::json!(["sms.sent", "domain.verified", "email.opened"])
    );
    let again = b.get(&format!("{LIST}/{id}")).await;
    assert!(
        again
            .body
            .contains(r#"name="event" value="email.opened" checked"#)
    );
    assert!(
        b.get(&format!("{LIST}?saved=1"))
            .await
            .shows("Subscription updated.")
    );

    // Back to every event: the radio button wins over the boxes.
    let etag = etag_of(&again);
    b.submit(
        &format!("{LIST}/{id}"),
        &[
            ("etag", &etag),
            ("name", "Orders EU"),
            ("url", URL),
            ("active", "on"),
            ("listen", "all"),
            ("event", "sms.sent"),
        ],
    )
    .await;
    assert_eq!(stored(&d).await[0].events.to_json(), "all");
    let page = b.get(&format!("{LIST}/{id}")).await;
    assert!(page.body.contains(r#"name="listen" value="all" checked"#));
    assert!(
        !page
            .body
            .contains(r#"name="event" value="sms.sent" checked"#)
    );
}

#[tokio::test]
async fn every_event_type_is_listed_by_sender_with_its_preview() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let form = b.get(&format!("{LIST}/new")).await;
    assert!(form.body.contains("<legend>Listen to</legend>"));
    assert!(form.body.contains("<legend>herald</legend>"));
    assert!(form.body.contains(r#"data-shown-when="listen=selected""#));
    let types = catalog::builtin::builtin();
    assert_eq!(
        form.body
            .matches(r#"<summary aria-label="Preview "#)
            .count(),
        types.len(),
        "one preview per event type"
    );
    for t in types {
        let item = form
            .body
            .split(&format!(r#"value="{}""#, t.name))
            .nth(1)
            .and_then(|s| s.split("</li>").next())
            .unwrap_or_else(|| panic!("no checkbox for {}", t.name));
        assert!(item.contains(&t.description), "{item}");
        assert!(
            item.contains(&format!(
                r#"<summary aria-label="Preview {}">Preview</summary>"#,
                t.name
            )),
            "{item}"
        );
        // The whole sample envelope, pretty-printed.
        assert!(
            item.contains(&format!("&quot;eventName&quot;: &quot;{}&quot;", t.name)),
            "{item}"
        );
        // The envelope's own fields (at the first level), in the reference's order.
        let at = |field: &str| {
            item.find(&format!("\n  &quot;{field}&quot;:"))
                .unwrap_or_else(|| panic!("no {field} in {item}"))
        };
        assert!(at("id") < at("timestamp") && at("timestamp") < at("sender"));
        assert!(at("eventName") < at("eventData") && at("eventData") < at("accountId"));
        assert!(at("organizationId") < at("expiresAt") && at("expiresAt") < at("tags"));
    }
}

#[tokio::test]
async fn an_update_from_a_stale_page_is_refused_and_shows_the_other_change() {
    let d = Dashboard::new();
    let mut alice = d.sign_in(Role::Admin, &["acme"]).await;
    add(&mut alice, &[]).await;
    let id = stored(&d).await[0].id.as_str().to_owned();
    let page = format!("{LIST}/{id}");
    let read_by_alice = etag_of(&alice.get(&page).await);

    let mut bob = d.sign_in(Role::Admin, &["acme"]).await;
    let bobs = etag_of(&bob.get(&page).await);
    let fields = |name: &'static str| {
        vec![
            ("name", name),
            ("url", URL),
            ("active", "on"),
            ("listen", "all"),
        ]
    };
    let mut by_bob = vec![("etag", bobs.as_str())];
    by_bob.extend(fields("Orders by Bob"));
    assert_eq!(
        bob.submit(&page, &by_bob).await.status,
        StatusCode::SEE_OTHER
    );

    let mut by_alice = vec![("etag", read_by_alice.as_str())];
    by_alice.extend(fields("Orders by Alice"));
    let lost = alice.submit(&page, &by_alice).await;
    assert_eq!(lost.status, StatusCode::CONFLICT, "{}", lost.body);
    assert!(lost.shows("Someone changed this subscription meanwhile."));
    assert!(
        lost.body.contains(r#"value="Orders by Bob""#),
        "the other version shown"
    );
    assert_eq!(stored(&d).await[0].name.as_str(), "Orders by Bob");

    // The page now carries the current version: the same change goes through.
    let mut retried = vec![("etag", "")];
    let current = etag_of(&lost);
    retried[0].1 = current.as_str();
    retried.extend(fields("Orders by Alice"));
    assert_eq!(
        alice.submit(&page, &retried).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(stored(&d).await[0].name.as_str(), "Orders by Alice");
}

#[tokio::test]
async fn an_update_refused_keeps_what_was_typed_and_ticking_the_secret_shows_a_new_one() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add(&mut b, &[]).await;
    let id = stored(&d).await[0].id.as_str().to_owned();
    let page = format!("{LIST}/{id}");
    let etag = etag_of(&b.get(&page).await);
    let refused = b
        .submit(
            &page,
            &[
                ("etag", &etag),
                ("name", "Orders"),
                ("url", "not a url"),
                ("tagFilter", "x y z*"),
                ("active", "on"),
                ("listen", "all"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(text_of(&refused, "f-url-error").starts_with("is not a valid URL"));
    assert!(refused.body.contains(r#"value="not a url""#));
    assert!(refused.body.contains(r#"value="x y z*""#));

    let signed = b
        .submit(
            &page,
            &[
                ("etag", &etag),
                ("name", "Orders"),
                ("url", URL),
                ("secret", "on"),
                ("active", "on"),
                ("listen", "all"),
            ],
        )
        .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    assert!(signed.shows("its requests are now signed"));
    assert!(text_of(&signed, "signing-secret").starts_with("whsec_"));
    assert_eq!(stored(&d).await[0].secrets().len(), 1);
}

#[tokio::test]
async fn delete_asks_first_then_removes_it() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add(&mut b, &[]).await;
    let id = stored(&d).await[0].id.as_str().to_owned();
    let page = b.get(&format!("{LIST}/{id}")).await;
    assert!(page.body.contains(&format!(
        r#"href="{LIST}/{id}/delete" data-dialog="delete-dialog">Delete subscription</a>"#
    )));
    assert!(
        page.body
            .contains(r#"<dialog id="delete-dialog" aria-labelledby="delete-title">"#)
    );
    let confirm = b.get(&format!("{LIST}/{id}/delete")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.shows("Delete Orders?"));
    assert!(confirm.shows("This cannot be undone."));
    assert_eq!(stored(&d).await.len(), 1, "asking deletes nothing");
    let done = b.submit(&format!("{LIST}/{id}/delete"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), Some(&*format!("{LIST}?deleted=1")));
    assert!(stored(&d).await.is_empty());
    let list = b.get(&format!("{LIST}?deleted=1")).await;
    assert!(list.shows("Subscription deleted.") && list.shows("No subscription yet."));
    assert_eq!(
        b.get(&format!("{LIST}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn rotating_asks_first_then_shows_the_new_secret_once_and_when_the_old_one_stops() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let first = add(&mut b, &[("secret", "on")]).await;
    let first = text_of(&first, "signing-secret").to_owned();
    let id = stored(&d).await[0].id.as_str().to_owned();
    let page = b.get(&format!("{LIST}/{id}")).await;
    assert!(page.body.contains(&format!(
        r#"href="{LIST}/{id}/rotate-secret" data-dialog="rotate-dialog">Rotate secret</a>"#
    )));
    let confirm = b.get(&format!("{LIST}/{id}/rotate-secret")).await;
    assert!(confirm.shows("Rotate the signing secret?"));
    assert_eq!(
        stored(&d).await[0].secrets().len(),
        1,
        "asking rotates nothing"
    );

    let rotated = b.submit(&format!("{LIST}/{id}/rotate-secret"), &[]).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let second = text_of(&rotated, "signing-secret").to_owned();
    assert!(second.starts_with("whsec_") && second != first);
    assert!(rotated.shows("Copy this secret now: it will not be shown again."));
    assert!(rotated.shows("The previous secret keeps signing requests beside the new one until"));
    assert!(
        rotated.body.contains(r#"datetime="2030-01-16T09:30:00Z""#),
        "{}",
        rotated.body
    );
    assert_eq!(stored(&d).await[0].secrets().len(), 2);

    let page = b.get(&format!("{LIST}/{id}")).await;
    assert!(page.shows("The previous secret also signs them until"));
    assert!(!page.body.contains(&second) && !page.body.contains(&first));
}

#[tokio::test]
async fn a_subscription_without_a_secret_offers_no_rotation() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add(&mut b, &[]).await;
    let id = stored(&d).await[0].id.as_str().to_owned();
    let page = b.get(&format!("{LIST}/{id}")).await;
    assert!(page.shows("Requests are not signed."));
    assert!(!page.body.contains("/rotate-secret") && !page.body.contains("rotate-dialog"));
}

#[tokio::test]
async fn a_test_event_shows_the_body_it_sends_and_is_queued_for_delivery() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add(&mut b, &[("active", "")]).await;
    let id = stored(&d).await[0].id.as_str().to_owned();
    let page = b.get(&format!("{LIST}/{id}")).await;
    assert!(
        page.body
            .contains(&format!(r#"href="{LIST}/{id}/test">Test events</a>"#))
    );
    let form = b.get(&format!("{LIST}/{id}/test")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"<optgroup label="herald">"#));
    assert!(
        form.body
            .contains(r#"<option value="sms.failed">sms.failed</option>"#)
    );
    assert!(form.body.contains(r#"<button type="submit">Send</button>"#));

    let sent = b
        .submit(&format!("{LIST}/{id}/test"), &[("eventName", "sms.failed")])
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(sent.body.contains(r#"<h2 id="test-sent">Sent</h2>"#));
    assert!(sent.shows(r#""eventName": "sms.failed""#), "{}", sent.body);
    assert!(sent.shows(r#""tags": ["#) && sent.shows(r#""mock""#));
    assert!(
        sent.body
            .contains(r#"<option value="sms.failed" selected>sms.failed</option>"#),
        "the form keeps the choice for another"
    );
    let jobs = d.deliveries_queue.jobs();
    assert_eq!(jobs.len(), 1, "queued although inactive");
    assert_eq!(jobs[0].subscription_id.as_str(), id);
    let first = jobs[0].first.as_ref().expect("a first attempt");
    assert!(first.test && first.event_name.as_str() == "sms.failed");
    assert!(sent.shows(jobs[0].delivery_id.to_string().as_str()));
    // The exact body queued, made readable: same fields, same order.
    let shown = sent
        .body
        .split("<h3>Request body</h3><pre class=\"json\" tabindex=\"0\"><code>")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .expect("the body shown")
        .replace("&quot;", "\"");
    let compact: String = shown
        .lines()
        .map(|l| l.trim_start().replacen("\": ", "\":", 1))
        .collect();
    assert_eq!(compact, first.body);

    // A name the catalog lacks (a form tampered with): refused next to the select.
    let refused = b
        .submit(&format!("{LIST}/{id}/test"), &[("eventName", "sms.nope")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(text_of(&refused, "f-eventName-error").contains("is not an event type in the catalog"));
    assert_eq!(d.deliveries_queue.jobs().len(), 1);
}

#[tokio::test]
async fn the_test_events_page_chooses_the_subscription_too() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let empty = b.get(&format!("{LIST}/test")).await;
    assert!(empty.shows("No subscription to test yet."));
    add(&mut b, &[("name", "First")]).await;
    add(&mut b, &[("name", "Second")]).await;
    let subs = stored(&d).await;
    let second = subs
        .iter()
        .find(|s| s.name.as_str() == "Second")
        .expect("stored")
        .id
        .as_str()
        .to_owned();
    let list = b.get(LIST).await;
    assert!(
        list.body
            .contains(&format!(r#"href="{LIST}/test">Test events</a>"#))
    );
    let form = b.get(&format!("{LIST}/test?subscription={second}")).await;
    assert!(
        form.body
            .contains(r#"<label for="f-subscription">Subscription</label>"#)
    );
    assert!(form.body.contains(&format!(
        r#"<option value="{second}" selected>Second</option>"#
    )));
    assert!(
        form.body
            .contains(r#"<label for="f-eventName">Event type</label>"#)
    );

    let sent = b
        .submit(
            &format!("{LIST}/test"),
            &[("subscription", &second), ("eventName", "email.opened")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(sent.shows("Sent") && sent.shows(r#""eventName": "email.opened""#));
    let jobs = d.deliveries_queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].subscription_id.as_str(), second);

    let unchosen = b
        .submit(
            &format!("{LIST}/test"),
            &[("subscription", ""), ("eventName", "email.opened")],
        )
        .await;
    assert_eq!(unchosen.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        text_of(&unchosen, "f-subscription-error"),
        "Choose a subscription."
    );
    assert_eq!(d.deliveries_queue.jobs().len(), 1);
}

#[tokio::test]
async fn a_subscription_herald_disabled_says_why() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add(&mut b, &[]).await;
    let mut s = stored(&d).await.remove(0);
    s.active = false;
    s.disabled_reason = Some("the endpoint answered 410 Gone".into());
    d.subscriptions.replace(&mut s).await.expect("replaced");
    let list = b.get(LIST).await;
    assert!(
        list.body
            .contains(r#"class="badge status-disabled">disabled<"#)
    );
    assert!(list.shows("Disabled by Herald: the endpoint answered 410 Gone"));
    let page = b.get(&format!("{LIST}/{}", s.id.as_str())).await;
    assert!(page.shows("Herald disabled this subscription: the endpoint answered 410 Gone."));
    assert!(page.shows("tick Active and update to enable it"));
}

#[tokio::test]
async fn a_viewer_sees_subscriptions_but_no_control_to_change_them() {
    let d = Dashboard::new();
    let mut admin = d.sign_in(Role::Admin, &["acme"]).await;
    add(
        &mut admin,
        &[
            ("secret", "on"),
            ("listen", "selected"),
            ("event", "sms.sent"),
        ],
    )
    .await;
    let id = stored(&d).await[0].id.as_str().to_owned();

    let mut b = d.sign_in(Role::Viewer, &["acme"]).await;
    let list = b.get(LIST).await;
    assert!(list.shows("Orders") && list.shows("1 selected"));
    assert!(!list.shows("Add subscription") && !list.shows("Test events"));
    let page = b.get(&format!("{LIST}/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("Selected events") && page.body.contains("<code>sms.sent</code>"));
    for control in [
        "<form method=\"post\" action=\"/dashboard/accounts/acme/subscriptions",
        "name=\"etag\"",
        "/delete",
        "/rotate-secret",
        "/test",
        ">Update<",
        "<dialog",
    ] {
        assert!(!page.body.contains(control), "{control}");
    }
    for path in [
        format!("{LIST}/new"),
        format!("{LIST}/test"),
        format!("{LIST}/{id}/test"),
        format!("{LIST}/{id}/delete"),
        format!("{LIST}/{id}/rotate-secret"),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::SEE_OTHER, "{path}");
    }
    for path in [
        LIST.to_owned(),
        format!("{LIST}/{id}"),
        format!("{LIST}/{id}/delete"),
        format!("{LIST}/{id}/rotate-secret"),
        format!("{LIST}/{id}/test"),
    ] {
        let refused = b
            .submit(
                &path,
                &[("name", "Evil"), ("url", URL), ("eventName", "sms.sent")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    let s = &stored(&d).await;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].name.as_str(), "Orders");
    assert_eq!(s[0].secrets().len(), 1);
    assert!(d.deliveries_queue.jobs().is_empty());
}

#[tokio::test]
async fn a_page_of_a_subscription_that_does_not_exist_is_not_found() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    for path in [
        format!("{LIST}/01HZZZZZZZZZZZZZZZZZZZZZZZ"),
        format!("{LIST}/not-an-id"),
        format!("{LIST}/..%2F..%2Fsms-settings"),
        format!("{LIST}/01HZZZZZZZZZZZZZZZZZZZZZZZ/test"),
        format!("{LIST}/01HZZZZZZZZZZZZZZZZZZZZZZZ/delete"),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn events_beyond_the_catalog_are_kept_and_a_bad_name_is_named_next_to_the_events() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let refused = add(
        &mut b,
        &[
            ("listen", "selected"),
            ("event", "sms.sent"),
            ("event", "Not An Event"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let error = text_of(&refused, "f-events-error");
    assert!(error.starts_with("“Not An Event” "), "{error}");
    assert!(
        refused
            .body
            .contains(r#"name="event" value="Not An Event" checked"#),
        "what was sent is kept"
    );
    assert!(stored(&d).await.is_empty());

    // A name the catalog does not list (any more): shown apart, ticked, kept by an update.
    add(
        &mut b,
        &[("listen", "selected"), ("event", "shop.order.completed")],
    )
    .await;
    let id = stored(&d).await[0].id.as_str().to_owned();
    let page = b.get(&format!("{LIST}/{id}")).await;
    assert!(page.body.contains("<legend>Other events</legend>"));
    assert!(
        page.body
            .contains(r#"name="event" value="shop.order.completed" checked"#)
    );
}

#[tokio::test]
async fn a_rotation_refused_says_why_and_changes_nothing() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add(&mut b, &[("secret", "on")]).await;
    let id = stored(&d).await[0].id.as_str().to_owned();
    let rotate = format!("{LIST}/{id}/rotate-secret");
    for _ in 0..4 {
        assert_eq!(b.submit(&rotate, &[]).await.status, StatusCode::OK);
    }
    let refused = b.submit(&rotate, &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.shows("secrets already sign"), "{}", refused.body);
    assert!(!refused.body.contains("whsec_"));
    assert!(refused.shows("Rotate the signing secret?"), "asked again");
    assert_eq!(stored(&d).await[0].secrets().len(), 5);
}

// Destinations beyond webhooks.

const QUEUE_URL: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/herald-events";
const TOPIC_ARN: &str = "arn:aws:sns:eu-west-1:123456789012:herald-events";
const BUS_ARN: &str = "arn:aws:events:eu-west-1:123456789012:event-bus/herald";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/herald-sender";
const CONNECTION: &str = "Endpoint=sb://acme-bus.servicebus.windows.net/;\
    SharedAccessKeyName=herald-send;SharedAccessKey=c2VjcmV0LWtleQ==;EntityPath=events";

/// A service-account key as Google's console downloads it, with a fresh RSA key.
fn service_account_key(key_id: &str) -> String {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("a key");
    let pem = key.to_pkcs8_pem(LineEnding::LF).expect("PEM");
    serde_json::json!({
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": key_id,
        "private_key": pem.as_str(),
        "client_email": "herald@acme-prod.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    })
    .to_string()
}

/// Adds a subscription of a cloud kind through the form, with every other kind's fields
/// filled in too (as a browser without the script sends them): only the chosen kind's count.
async fn add_cloud(b: &mut Browser<'_>, name: &str, fields: &[(&str, &str)]) -> Page {
    let mut all: Vec<(&str, &str)> = vec![("name", name), ("url", URL), ("secret", "on")];
    for (k, v) in [
        ("queueUrl", QUEUE_URL),
        ("topicArn", TOPIC_ARN),
        ("eventBusArn", BUS_ARN),
        ("roleArn", ROLE_ARN),
        ("project", "other-project"),
        ("namespace", "other-bus"),
        ("endpoint", ""),
    ] {
        if !fields.iter().any(|(f, _)| *f == k) {
            all.push((k, v));
        }
    }
    all.extend_from_slice(fields);
    add(b, &all).await
}

fn destination_of(d: &[Subscription], name: &str) -> Destination {
    d.iter()
        .find(|s| s.name.as_str() == name)
        .unwrap_or_else(|| panic!("{name} is stored"))
        .destination
        .clone()
}

#[tokio::test]
async fn the_form_offers_every_destination_kind_each_with_its_fields_under_its_heading() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let form = b.get(&format!("{LIST}/new")).await;
    assert!(
        form.body
            .contains(r#"<label for="f-type">Destination</label>"#)
    );
    for (value, label) in [
        ("webhook", "Webhook"),
        ("google-pubsub", "Google Pub/Sub"),
        ("azure-service-bus", "Azure Service Bus"),
        ("aws-sqs", "Amazon SQS"),
        ("aws-sns", "Amazon SNS"),
        ("aws-eventbridge", "Amazon EventBridge"),
    ] {
        let selected = if value == "webhook" { " selected" } else { "" };
        assert!(
            form.body.contains(&format!(
                r#"<option value="{value}"{selected}>{label}</option>"#
            )),
            "{value}"
        );
    }
    for legend in [
        "Webhook",
        "Google Pub/Sub",
        "Azure Service Bus",
        "Credentials",
        "Amazon SQS, SNS or EventBridge",
    ] {
        assert!(
            form.body.contains(&format!("<legend>{legend}</legend>")),
            "{legend}"
        );
    }
    for shown_when in [
        "type=webhook",
        "type=google-pubsub",
        "type=azure-service-bus",
        "type=aws-sqs|aws-sns|aws-eventbridge",
        "type=aws-sqs",
        "azureAuth=connectionString",
        "azureAuth=separate",
    ] {
        assert!(
            form.body
                .contains(&format!(r#"data-shown-when="{shown_when}""#)),
            "{shown_when}"
        );
    }
    for (id, label) in [
        ("f-project", "Project ID"),
        ("f-topic", "Topic ID"),
        ("f-orderingKey", "Ordering key (optional)"),
        ("f-serviceAccountKey", "Service account key (JSON)"),
        ("f-azureAuth-connectionString", "Connection string"),
        ("f-azureAuth-separate", "Separate fields"),
        ("f-connectionString", "Connection string"),
        ("f-namespace", "Namespace"),
        ("f-entity", "Queue or topic"),
        ("f-sasKeyName", "Shared access policy name"),
        ("f-sasKey", "Shared access key"),
        ("f-queueUrl", "Queue URL (Amazon SQS)"),
        ("f-topicArn", "Topic ARN (Amazon SNS)"),
        ("f-eventBusArn", "Event bus ARN (Amazon EventBridge)"),
        ("f-roleArn", "Role ARN"),
        ("f-endpoint", "Endpoint (optional)"),
    ] {
        assert!(
            form.body
                .contains(&format!(r#"<label for="{id}">{label}</label>"#)),
            "{id}"
        );
    }
    assert!(
        form.body
            .contains(r#"<textarea id="f-serviceAccountKey" name="serviceAccountKey""#)
    );
    assert!(form.body.contains(r#"<summary>Advanced</summary>"#));
    assert!(form.shows("Herald shows the external id and the trust policy"));
}

#[tokio::test]
async fn each_kind_is_added_through_the_form_and_listed_with_its_destination() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let key = service_account_key("k1");
    let pubsub = add_cloud(
        &mut b,
        "Pub/Sub",
        &[
            ("type", "google-pubsub"),
            ("project", "acme-prod"),
            ("topic", "herald-events"),
            ("orderingKey", ""),
            ("serviceAccountKey", &key),
        ],
    )
    .await;
    assert_eq!(pubsub.status, StatusCode::SEE_OTHER, "{}", pubsub.body);
    assert_eq!(pubsub.location(), Some(&*format!("{LIST}?created=1")));
    for (name, fields) in [
        (
            "Bus by string",
            vec![
                ("type", "azure-service-bus"),
                ("azureAuth", "connectionString"),
                ("connectionString", CONNECTION),
                ("entity", ""),
            ],
        ),
        (
            "Bus by fields",
            vec![
                ("type", "azure-service-bus"),
                ("azureAuth", "separate"),
                ("connectionString", "ignored"),
                ("namespace", "acme-bus"),
                ("entity", "orders"),
                ("sasKeyName", "herald-send"),
                ("sasKey", "c2VjcmV0LWtleQ=="),
            ],
        ),
        ("Queue", vec![("type", "aws-sqs")]),
        ("Topic", vec![("type", "aws-sns")]),
        ("Bus", vec![("type", "aws-eventbridge")]),
    ] {
        let added = add_cloud(&mut b, name, &fields).await;
        assert!(
            added.status.is_success() || added.status.is_redirection(),
            "{name}: {}",
            added.body
        );
    }
    let subs = stored(&d).await;
    assert_eq!(subs.len(), 6);
    let Destination::GooglePubsub(p) = destination_of(&subs, "Pub/Sub") else {
        panic!("a Pub/Sub topic");
    };
    assert_eq!(
        (p.project.as_str(), p.topic.as_str()),
        ("acme-prod", "herald-events")
    );
    assert_eq!(
        p.service_account,
        "herald@acme-prod.iam.gserviceaccount.com"
    );
    assert_eq!(
        (p.key_id.as_str(), p.ordering_key, p.endpoint),
        ("k1", None, None)
    );
    let Destination::AzureServiceBus(s) = destination_of(&subs, "Bus by string") else {
        panic!("a Service Bus queue");
    };
    assert_eq!(
        (s.namespace.as_str(), s.entity.as_str(), s.key_name.as_str()),
        ("acme-bus", "events", "herald-send")
    );
    let Destination::AzureServiceBus(s) = destination_of(&subs, "Bus by fields") else {
        panic!("a Service Bus queue");
    };
    assert_eq!(
        (s.namespace.as_str(), s.entity.as_str()),
        ("acme-bus", "orders")
    );
    let Destination::AwsSqs(q) = destination_of(&subs, "Queue") else {
        panic!("an SQS queue");
    };
    assert_eq!(q.queue_url.as_str(), QUEUE_URL);
    assert_eq!(q.role.role_arn.as_str(), ROLE_ARN);
    assert!(
        matches!(destination_of(&subs, "Topic"), Destination::AwsSns(t) if t.topic_arn.as_str() == TOPIC_ARN)
    );
    assert!(
        matches!(destination_of(&subs, "Bus"), Destination::AwsEventbridge(e) if e.event_bus_arn.as_str() == BUS_ARN)
    );
    assert!(
        subs.iter().all(|s| s.secrets().is_empty()),
        "only a webhook is signed"
    );

    let list = b.get(LIST).await;
    assert!(list.body.contains(r#"<th scope="col">Destination</th>"#));
    for (label, target) in [
        ("Google Pub/Sub", "projects/acme-prod/topics/herald-events"),
        ("Azure Service Bus", "acme-bus/events"),
        ("Azure Service Bus", "acme-bus/orders"),
        ("Amazon SQS", QUEUE_URL),
        ("Amazon SNS", TOPIC_ARN),
        ("Amazon EventBridge", BUS_ARN),
    ] {
        assert!(
            list.body
                .contains(&format!("<td>{label} <code>{target}</code></td>")),
            "{label} {target}"
        );
    }
    assert!(!list.shows("SharedAccessKey") && !list.shows("c2VjcmV0LWtleQ=="));
    assert!(!list.shows("PRIVATE KEY"));
}

#[tokio::test]
async fn cloud_refusals_are_shown_next_to_their_fields() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let pubsub = add_cloud(
        &mut b,
        "Pub/Sub",
        &[
            ("type", "google-pubsub"),
            ("project", "Acme"),
            ("topic", "x"),
            ("serviceAccountKey", r#"{"type": "user"}"#),
        ],
    )
    .await;
    assert_eq!(pubsub.status, StatusCode::BAD_REQUEST, "{}", pubsub.body);
    for id in [
        "f-project-error",
        "f-topic-error",
        "f-serviceAccountKey-error",
    ] {
        assert!(!text_of(&pubsub, id).is_empty(), "{id}");
    }
    assert!(text_of(&pubsub, "f-serviceAccountKey-error").contains("service-account key"));
    assert!(
        pubsub
            .body
            .contains(r#"aria-describedby="f-serviceAccountKey-hint f-serviceAccountKey-error""#)
    );
    // What was typed stays, but a credential is never sent back.
    assert!(pubsub.body.contains(r#"value="Acme""#));
    assert!(!pubsub.body.contains(r#""type": "user""#) && !pubsub.shows(r#""type": "user""#));
    assert!(
        pubsub
            .body
            .contains(r#"<option value="google-pubsub" selected>"#)
    );
    // The webhook's fields were not sent: no message about them.
    assert!(!pubsub.body.contains("f-url-error"));

    let no_key = add_cloud(
        &mut b,
        "Pub/Sub",
        &[
            ("type", "google-pubsub"),
            ("project", "acme-prod"),
            ("topic", "herald-events"),
        ],
    )
    .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    assert!(text_of(&no_key, "f-serviceAccountKey-error").contains("is required"));

    let sqs = add_cloud(
        &mut b,
        "Queue",
        &[
            ("type", "aws-sqs"),
            ("queueUrl", "https://example.com/queue"),
            ("roleArn", "arn:aws:iam::123:role/x"),
        ],
    )
    .await;
    assert_eq!(sqs.status, StatusCode::BAD_REQUEST);
    assert!(text_of(&sqs, "f-queueUrl-error").contains("must be a queue URL"));
    assert!(text_of(&sqs, "f-roleArn-error").contains("AWS account id"));
    assert!(sqs.body.contains(r#"value="https://example.com/queue""#));

    let endpoint = add_cloud(
        &mut b,
        "Topic",
        &[("type", "aws-sns"), ("endpoint", "http://127.0.0.1:4566")],
    )
    .await;
    assert_eq!(endpoint.status, StatusCode::BAD_REQUEST);
    assert!(!text_of(&endpoint, "f-endpoint-error").is_empty());
    assert!(endpoint.body.contains("<details class=\"advanced\""));
    assert!(
        endpoint.body.contains(" open>"),
        "the disclosure opens on its error"
    );

    let bus = add_cloud(
        &mut b,
        "Bus",
        &[
            ("type", "azure-service-bus"),
            ("azureAuth", "separate"),
            ("namespace", "acme-bus"),
            ("entity", "orders"),
            ("sasKeyName", "herald-send"),
        ],
    )
    .await;
    assert_eq!(bus.status, StatusCode::BAD_REQUEST, "{}", bus.body);
    assert!(text_of(&bus, "f-sasKey-error").contains("is required"));
    assert!(
        bus.body
            .contains(r#"name="azureAuth" value="separate" checked"#)
    );

    let string = add_cloud(
        &mut b,
        "Bus",
        &[
            ("type", "azure-service-bus"),
            ("azureAuth", "connectionString"),
            ("connectionString", "Endpoint=sb://acme.example.com/"),
        ],
    )
    .await;
    assert_eq!(string.status, StatusCode::BAD_REQUEST);
    assert!(!text_of(&string, "f-connectionString-error").is_empty());
    assert!(stored(&d).await.is_empty(), "nothing added");
}

#[tokio::test]
async fn editing_without_entering_the_key_again_keeps_it() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let key = service_account_key("k1");
    add_cloud(
        &mut b,
        "Pub/Sub",
        &[
            ("type", "google-pubsub"),
            ("project", "acme-prod"),
            ("topic", "herald-events"),
            ("serviceAccountKey", &key),
        ],
    )
    .await;
    let before = stored(&d).await.remove(0);
    let Destination::GooglePubsub(kept) = before.destination.clone() else {
        panic!("a Pub/Sub topic");
    };
    let page = b.get(&format!("{LIST}/{}", before.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.shows("Herald uses the key of herald@acme-prod.iam.gserviceaccount.com (key id k1)")
    );
    assert!(page.shows("Leave empty to keep the current key."));
    assert!(!page.shows("PRIVATE KEY") && !page.body.contains("********"));
    assert!(
        page.body
            .contains(r#"<option value="google-pubsub" selected>"#)
    );
    assert!(page.body.contains(r#"value="herald-events""#));
    assert!(
        !page.body.contains("/rotate-secret"),
        "only a webhook has a secret to rotate"
    );
    assert!(page.shows("Google Pub/Sub") && page.shows("projects/acme-prod/topics/herald-events"));
    let etag = etag_of(&page);
    let updated = b
        .submit(
            &format!("{LIST}/{}", before.id),
            &[
                ("etag", &etag),
                ("name", "Pub/Sub"),
                ("type", "google-pubsub"),
                ("project", "acme-prod"),
                ("topic", "orders"),
                ("orderingKey", "acme"),
                ("serviceAccountKey", ""),
                ("active", "on"),
                ("listen", "all"),
            ],
        )
        .await;
    assert_eq!(updated.status, StatusCode::SEE_OTHER, "{}", updated.body);
    let Destination::GooglePubsub(now) = stored(&d).await.remove(0).destination else {
        panic!("still a Pub/Sub topic");
    };
    assert_eq!(now.topic.as_str(), "orders");
    assert_eq!(now.ordering_key.as_ref().map(|k| k.as_str()), Some("acme"));
    assert!(now.key == kept.key, "the sealed key is kept");
    assert_eq!(now.key_id, "k1");

    // A Service Bus key too.
    add_cloud(
        &mut b,
        "Bus",
        &[
            ("type", "azure-service-bus"),
            ("azureAuth", "connectionString"),
            ("connectionString", CONNECTION),
        ],
    )
    .await;
    let bus = stored(&d)
        .await
        .into_iter()
        .find(|s| s.name.as_str() == "Bus")
        .expect("added");
    let Destination::AzureServiceBus(kept) = bus.destination.clone() else {
        panic!("a Service Bus queue");
    };
    let page = b.get(&format!("{LIST}/{}", bus.id)).await;
    assert!(
        page.body
            .contains(r#"name="azureAuth" value="separate" checked"#)
    );
    assert!(
        page.body.contains(r#"value="herald-send""#) && page.body.contains(r#"value="acme-bus""#)
    );
    assert!(!page.shows("c2VjcmV0LWtleQ=="));
    let etag = etag_of(&page);
    let updated = b
        .submit(
            &format!("{LIST}/{}", bus.id),
            &[
                ("etag", &etag),
                ("name", "Bus"),
                ("type", "azure-service-bus"),
                ("azureAuth", "separate"),
                ("namespace", "acme-bus"),
                ("entity", "orders"),
                ("sasKeyName", "herald-send"),
                ("sasKey", ""),
                ("active", "on"),
                ("listen", "all"),
            ],
        )
        .await;
    assert_eq!(updated.status, StatusCode::SEE_OTHER, "{}", updated.body);
    let Destination::AzureServiceBus(now) = destination_of(&stored(&d).await, "Bus") else {
        panic!("still a Service Bus queue");
    };
    assert_eq!(now.entity.as_str(), "orders");
    assert!(now.key == kept.key, "the sealed key is kept");
}

#[tokio::test]
async fn an_aws_subscription_shows_the_external_id_and_trust_policy_its_role_needs() {
    let d = Dashboard::with_env(&[("HERALD_AWS_ACCOUNT_ID", "210987654321")]);
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let added = add_cloud(&mut b, "Queue", &[("type", "aws-sqs")]).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let sub = stored(&d).await.remove(0);
    let external_id = sub
        .destination
        .aws_role()
        .expect("an AWS role")
        .external_id
        .as_str()
        .to_owned();
    assert!(added.shows("Subscription Queue added."));
    assert!(added.shows("Finish setting up the role"));
    assert!(added.shows("Attach this trust policy to the role so Herald can assume it"));
    assert_eq!(text_of(&added, "external-id"), external_id);
    let policy = text_of(&added, "trust-policy").replace("&quot;", "\"");
    let policy: serde_json::Value = serde_json::from_str(&policy).expect("the policy is JSON");
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::210987654321:root"
    );
    assert_eq!(
        policy["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        external_id.as_str()
    );
    for copy in ["external-id", "trust-policy"] {
        assert!(
            added.body.contains(&format!(r#"data-copy="{copy}""#)),
            "{copy}"
        );
    }
    assert!(added.body.contains(&format!(r#"href="{LIST}/{}""#, sub.id)));

    // The subscription's page shows them again, to administrators and viewers.
    let page = b.get(&format!("{LIST}/{}", sub.id)).await;
    assert!(page.shows("Attach this trust policy to the role so Herald can assume it"));
    assert_eq!(text_of(&page, "external-id"), external_id);
    assert!(page.body.contains(&format!(r#"value="{ROLE_ARN}""#)));
    let mut viewer = d.sign_in(Role::Viewer, &["acme"]).await;
    let page = viewer.get(&format!("{LIST}/{}", sub.id)).await;
    assert_eq!(text_of(&page, "external-id"), external_id);
    assert!(page.shows("Amazon SQS") && page.shows(QUEUE_URL) && page.shows(ROLE_ARN));
    for control in [
        "<form method=\"post\" action=\"/dashboard/accounts/acme/subscriptions",
        "<textarea",
        "name=\"roleArn\"",
        "/rotate-secret",
        "<dialog",
    ] {
        assert!(!page.body.contains(control), "{control}");
    }
    let list = viewer.get(LIST).await;
    assert!(list.shows("Amazon SQS") && list.shows(QUEUE_URL));
    assert!(!list.shows("Add subscription"));
}

#[tokio::test]
async fn without_herald_s_account_id_the_page_says_what_the_trust_policy_must_allow() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let added = add_cloud(&mut b, "Topic", &[("type", "aws-sns")]).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert!(added.shows("with the condition that sts:ExternalId equals this external id"));
    assert!(!added.body.contains(r#"id="trust-policy""#));
}

#[tokio::test]
async fn a_cloud_subscription_has_test_events_but_no_secret_to_rotate() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add_cloud(&mut b, "Bus", &[("type", "aws-eventbridge")]).await;
    let id = stored(&d).await[0].id.as_str().to_owned();
    let page = b.get(&format!("{LIST}/{id}")).await;
    assert!(!page.body.contains("/rotate-secret") && !page.body.contains("<dt>Signing</dt>"));
    let form = b.get(&format!("{LIST}/{id}/test")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.shows("Amazon EventBridge") && form.shows(BUS_ARN));
    let sent = b
        .submit(&format!("{LIST}/{id}/test"), &[("eventName", "sms.sent")])
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(sent.shows("is on its way to"));
    assert_eq!(d.deliveries_queue.jobs().len(), 1);
}
