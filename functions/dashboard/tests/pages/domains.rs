//! The Email page's My domains tab: adding a domain, its DNS records, verifying, using and
//! deleting it, each refusal shown where it belongs.

use axum::http::StatusCode;
use herald::dashboard::Role;
use herald::domains::SendingDomain;
use herald::domains::records::RecordType;
use herald::domains::store::DomainStore;

use crate::harness::{Browser, Dashboard, Page};

const LIST: &str = "/dashboard/accounts/acme/email/domains";
const DOMAIN: &str = "/dashboard/accounts/acme/email/domains/acme-mail.com";

/// The message shown next to the field `id`.
fn error_of(page: &Page, id: &str) -> Option<String> {
    page.body
        .split(&format!(r#"<p class="error" id="{id}-error">"#))
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .map(str::to_owned)
}

/// Adds `acme-mail.com` with the selector `s1` through the page's form.
async fn add(b: &mut Browser<'_>) -> Page {
    b.get(LIST).await;
    let added = b
        .submit(LIST, &[("domain", "acme-mail.com"), ("dkimSelector", "s1")])
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), Some(&*format!("{DOMAIN}?added=1")));
    b.get(&format!("{DOMAIN}?added=1")).await
}

/// Publishes every record of the domain, as its owner would at their DNS host.
async fn publish(d: &Dashboard, domain: &str) {
    let stored = d
        .domains
        .get(&SendingDomain::parse(domain).expect("valid"))
        .await
        .expect("read")
        .expect("added");
    for checked in stored.records {
        let r = checked.record;
        match r.record_type {
            RecordType::Txt => d.dns.set_txt(&r.name, [r.value.as_str()]),
            RecordType::Mx => {
                let (preference, host) = r.value.split_once(' ').expect("preference host");
                d.dns
                    .set_mx(&r.name, [(preference.parse().expect("a number"), host)]);
            }
        }
    }
}

async fn stored(d: &Dashboard, domain: &str) -> bool {
    d.domains
        .get(&SendingDomain::parse(domain).expect("valid"))
        .await
        .expect("read")
        .is_some()
}

#[tokio::test]
async fn an_empty_list_says_what_to_do_and_a_bad_name_is_refused_next_to_its_field() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let list = b.get(LIST).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains(
            r#"<a href="/dashboard/accounts/acme/email/domains" aria-current="page">My domains</a>"#
        ),
        "{}",
        list.body
    );
    assert!(list.shows("No domain yet. Add your own domain below"));
    assert!(
        list.body
            .contains(r#"<label for="f-domain">Domain</label>"#)
    );
    assert!(
        list.body
            .contains(r#"<button type="submit">Add domain</button>"#)
    );

    let refused = b
        .submit(LIST, &[("domain", "not a domain"), ("dkimSelector", "S1!")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(error_of(&refused, "f-domain").is_some(), "{}", refused.body);
    assert!(error_of(&refused, "f-dkimSelector").is_some());
    assert!(refused.body.contains(r#"value="not a domain""#));

    // Special-use names are not sending domains.
    let special = b.submit(LIST, &[("domain", "mail.acme.test")]).await;
    assert_eq!(special.status, StatusCode::BAD_REQUEST);
    assert!(error_of(&special, "f-domain").is_some(), "{}", special.body);
    assert!(b.get(LIST).await.shows("No domain yet."));
}

#[tokio::test]
async fn an_added_domain_shows_its_records_with_copy_buttons_and_use_waits_for_verification() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let page = add(&mut b).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("Domain added. Publish the DNS records below"));
    assert!(page.body.contains("<h1>acme-mail.com</h1>"));
    assert!(
        page.body
            .contains(r#"<code id="record-0-name">s1._domainkey.acme-mail.com</code>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(
        r#"<button class="copy" type="button" data-copy="record-0-value" hidden>Copy</button>"#
    ));
    assert!(page.body.contains(r#"data-copy="record-0-name""#));
    assert!(page.body.contains(r#"<th scope="row">MX</th>"#));
    assert!(
        page.body
            .contains(r#"<span class="badge status-pending">pending</span>"#)
    );
    // A 2048-bit key does not fit one TXT string: the quoted form is offered too.
    assert!(page.body.contains(r#"data-copy="record-0-quoted""#));

    // Use is greyed out, and says why.
    assert!(
        page.body.contains(
            r#"<button type="button" disabled aria-describedby="use-why">Use domain</button>"#
        ),
        "{}",
        page.body
    );
    assert!(page.shows("Use domain becomes available once the domain is verified"));
    assert!(!page.body.contains("use-dialog"));
    let confirm = b.get(&format!("{DOMAIN}/use")).await;
    assert!(!confirm.body.contains("Confirm</button>"));
    let early = b
        .submit(
            &format!("{DOMAIN}/use"),
            &[("fromAddressPrefix", "mycompany")],
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.shows("is not verified yet"), "{}", early.body);

    // Listed as pending, not in use.
    let list = b.get(LIST).await;
    assert!(list.body.contains(
        r#"<a href="/dashboard/accounts/acme/email/domains/acme-mail.com">acme-mail.com</a>"#
    ));
    assert!(
        list.body
            .contains(r#"<span class="badge status-pending">pending</span>"#)
    );
    assert!(!list.body.contains(r#"<span class="badge">in use</span>"#));
    assert!(list.body.contains(
        r#"<a href="/dashboard/accounts/acme/email/domains/acme-mail.com/delete" aria-label="Delete acme-mail.com">Delete</a>"#
    ));
    assert!(!list.body.contains("Use domain acme-mail.com"));
}

#[tokio::test]
async fn verify_finds_the_published_records_then_the_domain_can_be_used() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add(&mut b).await;

    // Nothing published yet.
    let checked = b.submit(&format!("{DOMAIN}/verify"), &[]).await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER);
    assert_eq!(checked.location(), Some(&*format!("{DOMAIN}?checked=1")));
    let page = b.get(&format!("{DOMAIN}?checked=1")).await;
    assert!(page.shows("Not verified yet"));
    assert!(
        page.body
            .contains(r#"<span class="badge status-missing">missing</span>"#)
    );

    publish(&d, "acme-mail.com").await;
    b.submit(&format!("{DOMAIN}/verify"), &[]).await;
    let page = b.get(&format!("{DOMAIN}?checked=1")).await;
    assert!(page.shows("DNS records verified: the domain is ready to use."));
    let list = b.get(LIST).await;
    assert!(list.body.contains(
        r#"<a href="/dashboard/accounts/acme/email/domains/acme-mail.com/use" aria-label="Use domain acme-mail.com">Use domain</a>"#
    ));
    let page = b.get(DOMAIN).await;
    assert!(
        page.body
            .contains(r#"<dd><span class="badge status-verified">verified</span></dd>"#)
    );
    assert!(!page.body.contains("disabled aria-describedby=\"use-why\""));
    assert!(page.body.contains(
        r#"<a class="button" href="/dashboard/accounts/acme/email/domains/acme-mail.com/use" data-dialog="use-dialog">Use domain</a>"#
    ));
    // The dialog starts from the account's prefix and previews the address.
    assert!(page.body.contains(
        r#"<output for="f-fromAddressPrefix" data-preview-of="f-fromAddressPrefix" data-preview="{value}@acme-mail.com">noreply@acme-mail.com</output>"#
    ), "{}", page.body);

    // A bad prefix: the message next to it, nothing in use.
    let refused = b
        .submit(
            &format!("{DOMAIN}/use"),
            &[("fromAddressPrefix", "my company")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(error_of(&refused, "f-fromAddressPrefix").is_some());
    assert!(refused.body.contains(r#"value="my company""#));

    let used = b
        .submit(
            &format!("{DOMAIN}/use"),
            &[("fromAddressPrefix", "mycompany")],
        )
        .await;
    assert_eq!(used.status, StatusCode::SEE_OTHER, "{}", used.body);
    let page = b.get(&format!("{DOMAIN}?used=1")).await;
    assert!(page.shows("emails are now sent from mycompany@acme-mail.com"));
    assert!(!page.body.contains(">Use domain<"));
    assert!(!page.body.contains(">Delete</a>"));
    assert!(page.shows("This domain is in use, so it cannot be deleted."));

    let list = b.get(LIST).await;
    assert!(
        list.body
            .contains(r#"<span class="badge">in use</span> <code>mycompany@acme-mail.com</code>"#)
    );
    assert!(
        !list.body.contains("Delete acme-mail.com")
            && !list.body.contains("Use domain acme-mail.com")
    );
    let settings = b.get("/dashboard/accounts/acme/email").await;
    assert!(settings.shows("Herald <mycompany@acme-mail.com>"));
}

#[tokio::test]
async fn delete_needs_the_exact_name_and_a_domain_not_in_use() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let page = add(&mut b).await;
    assert!(
        page.body
            .contains(r#"data-dialog="delete-dialog">Delete</a>"#)
    );
    assert!(
        page.body
            .contains(r#"<label for="f-confirm">Type acme-mail.com to confirm</label>"#)
    );

    let confirm = b.get(&format!("{DOMAIN}/delete")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.shows("Delete acme-mail.com?"));

    for typed in ["acme-mail.co", "ACME-MAIL.COM", "acme-mail.com.", ""] {
        let refused = b
            .submit(&format!("{DOMAIN}/delete"), &[("confirm", typed)])
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{typed}");
        assert_eq!(
            error_of(&refused, "f-confirm").as_deref(),
            Some("Type the domain exactly as shown, acme-mail.com, to delete it."),
            "{typed}"
        );
        assert!(
            stored(&d, "acme-mail.com").await,
            "{typed}: nothing deleted"
        );
    }

    // In use: no Delete, and a forged request is refused.
    publish(&d, "acme-mail.com").await;
    b.submit(&format!("{DOMAIN}/verify"), &[]).await;
    b.submit(
        &format!("{DOMAIN}/use"),
        &[("fromAddressPrefix", "mycompany")],
    )
    .await;
    let page = b.get(DOMAIN).await;
    assert!(!page.body.contains("delete-dialog"));
    let in_use = b
        .submit(&format!("{DOMAIN}/delete"), &[("confirm", "acme-mail.com")])
        .await;
    assert_eq!(in_use.status, StatusCode::CONFLICT, "{}", in_use.body);
    assert!(in_use.shows("acme-mail.com is in use"));
    assert!(stored(&d, "acme-mail.com").await);
}

#[tokio::test]
async fn the_exact_name_deletes_a_domain_not_in_use() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add(&mut b).await;
    let deleted = b
        .submit(&format!("{DOMAIN}/delete"), &[("confirm", "acme-mail.com")])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(deleted.location(), Some(&*format!("{LIST}?deleted=1")));
    assert!(!stored(&d, "acme-mail.com").await);
    let list = b.get(&format!("{LIST}?deleted=1")).await;
    assert!(list.shows("The domain was deleted."));
    assert!(list.shows("No domain yet."));
    assert_eq!(b.get(DOMAIN).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_domain_added_twice_is_refused_next_to_its_name() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme", "globex"]).await;
    add(&mut b).await;
    b.get(LIST).await;
    let again = b.submit(LIST, &[("domain", "acme-mail.com")]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_of(&again, "f-domain").as_deref(),
        Some("acme-mail.com is already one of this account's domains"),
        "{}",
        again.body
    );

    // Another account of the session neither sees nor takes it.
    let other = b
        .get("/dashboard/accounts/globex/email/domains/acme-mail.com")
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    b.get("/dashboard/accounts/globex/email/domains").await;
    let taken = b
        .submit(
            "/dashboard/accounts/globex/email/domains",
            &[("domain", "acme-mail.com")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(
        error_of(&taken, "f-domain").is_some_and(|e| e.contains("held by another account")),
        "{}",
        taken.body
    );
}

#[tokio::test]
async fn a_name_that_is_no_domain_is_not_found() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let page = b
        .get("/dashboard/accounts/acme/email/domains/acme%3Fconfirm%3Dx")
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_viewer_sees_domains_and_records_without_any_control() {
    let d = Dashboard::new();
    let mut admin = d.sign_in(Role::Admin, &["acme"]).await;
    add(&mut admin).await;
    publish(&d, "acme-mail.com").await;
    admin.submit(&format!("{DOMAIN}/verify"), &[]).await;

    let mut viewer = d.sign_in(Role::Viewer, &["acme"]).await;
    let list = viewer.get(LIST).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.shows("acme-mail.com"));
    assert!(!list.body.contains("Add domain") && !list.body.contains(r#"name="domain""#));
    assert!(!list.body.contains(">Actions</th>") && !list.body.contains("Delete acme-mail.com"));

    let page = viewer.get(DOMAIN).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"data-copy="record-0-value""#));
    for control in [
        "Verify DNS",
        "Use domain",
        ">Delete<",
        "use-dialog",
        "delete-dialog",
    ] {
        assert!(!page.body.contains(control), "{control}");
    }
    assert_eq!(
        viewer.get(&format!("{DOMAIN}/use")).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        viewer.get(&format!("{DOMAIN}/delete")).await.status,
        StatusCode::SEE_OTHER
    );
    let forged = viewer
        .submit(&format!("{DOMAIN}/delete"), &[("confirm", "acme-mail.com")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(stored(&d, "acme-mail.com").await);

    // An account without domains: the empty state names no action a viewer cannot take.
    d.domains
        .delete(
            &d.domains
                .get(&SendingDomain::parse("acme-mail.com").expect("valid"))
                .await
                .expect("read")
                .expect("there"),
        )
        .await
        .expect("deleted");
    let empty = viewer.get(LIST).await;
    assert!(empty.shows("An administrator can add your own domain"));
}
