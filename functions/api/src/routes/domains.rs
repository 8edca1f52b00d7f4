//! `/accounts/{accountId}/domains`: the account's own sending domains. Adding one creates its
//! DKIM key pair and SES identity and answers with the records to publish; Herald checks them
//! on a schedule and on demand; a verified domain can be put in use, which makes the account's
//! default sender `{prefix}@{domain}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald::common::account::AccountId;
use herald::common::clock::{rfc3339_serde, to_millis};
use herald::common::json_fields::{ObjectReader, parsed, string};
use herald::common::store::StoreError;
use herald::common::validation::FieldErrors;
use herald::domains::store::DomainRecord;
use herald::domains::{
    CheckedRecord, DkimKeyPair, DkimSelector, DomainStatus, RecordType, SendingDomain, dns_records,
};
use herald::messaging::email::LocalPart;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::Account;
use crate::AppState;
use crate::body::JsonBody;
use crate::problem::ApiError;

/// A domain as the API shows it: never its private key.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    domain: String,
    /// The domain as people write it, when it is an internationalised name.
    #[serde(skip_serializing_if = "Option::is_none")]
    unicode: Option<String>,
    status: DomainStatus,
    dkim_selector: String,
    dns_records: Vec<RecordView>,
    in_use: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_address_prefix: Option<String>,
    #[serde(with = "rfc3339_serde")]
    added_at: OffsetDateTime,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    checked_at: Option<OffsetDateTime>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    verified_at: Option<OffsetDateTime>,
}

/// A record to publish, with its value also in the forms DNS hosts take (TXT records): the
/// stored record stays as it is, these are derived from its value each time it is shown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordView {
    #[serde(flatten)]
    checked: CheckedRecord,
    /// The strings of at most 255 bytes DNS carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    txt_strings: Option<Vec<String>>,
    /// `"..." "..."`, as zone files and Route 53 take it.
    #[serde(skip_serializing_if = "Option::is_none")]
    quoted_value: Option<String>,
    /// How to publish a value longer than one string.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

impl From<CheckedRecord> for RecordView {
    fn from(checked: CheckedRecord) -> Self {
        let record = &checked.record;
        let txt = record.record_type == RecordType::Txt;
        Self {
            txt_strings: txt.then(|| record.txt_strings()),
            quoted_value: txt.then(|| record.quoted_txt()),
            note: record.publishing_note(),
            checked,
        }
    }
}

impl From<DomainRecord> for View {
    fn from(d: DomainRecord) -> Self {
        let unicode = d.domain.to_unicode();
        Self {
            unicode: (unicode != d.domain.as_str()).then_some(unicode),
            domain: d.domain.as_str().to_owned(),
            status: d.status,
            dkim_selector: d.selector.as_str().to_owned(),
            dns_records: d.records.into_iter().map(RecordView::from).collect(),
            in_use: d.in_use,
            from_address_prefix: d.from_address_prefix.map(|p| p.as_str().to_owned()),
            added_at: d.added_at,
            checked_at: d.checked_at,
            verified_at: d.verified_at,
        }
    }
}

/// The `{domain}` of the path, when it is one of the account's domains.
async fn find(
    state: &AppState,
    account: &AccountId,
    path: &HashMap<String, String>,
) -> Result<DomainRecord, ApiError> {
    let domain = path
        .get("domain")
        .and_then(|d| SendingDomain::parse(d).ok())
        .ok_or(ApiError::NotFound)?;
    state
        .domains
        .get(&domain)
        .await?
        .filter(|d| d.account_id == *account)
        .ok_or(ApiError::NotFound)
}

pub async fn add(
    State(state): State<AppState>,
    Account(account): Account,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::new();
    let read = ObjectReader::new(body, "", &mut errors).and_then(|mut r| {
        let domain = r.required("domain", parsed(SendingDomain::parse));
        let selector = r.optional("dkimSelector", parsed(DkimSelector::parse));
        r.finish();
        Some((domain?, selector?))
    });
    let (domain, selector) = match read {
        Some(v) if errors.is_empty() => v,
        _ => return Err(ApiError::Validation(errors)),
    };
    if let Some(existing) = state.domains.get(&domain).await? {
        return Err(ApiError::Conflict(if existing.account_id == account {
            format!("{domain} is already one of this account's domains")
        } else {
            format!("{domain} is held by another account")
        }));
    }
    let selector = selector.unwrap_or_else(DkimSelector::generate);
    let keys = DkimKeyPair::generate_off_thread()
        .await
        .map_err(ApiError::internal)?;
    let sealed = state.sealer.seal(&account, keys.private_key()).await?;
    let now = state.clock.now();
    let records = dns_records(
        &domain,
        &selector,
        keys.public_key(),
        &state.config.domains.region,
    );
    let record = DomainRecord {
        domain: domain.clone(),
        account_id: account.clone(),
        selector: selector.clone(),
        public_key: keys.public_key().clone(),
        sealed_private_key: sealed,
        status: DomainStatus::Pending,
        records: records.into_iter().map(CheckedRecord::pending).collect(),
        in_use: false,
        from_address_prefix: None,
        added_at: to_millis(now),
        checked_at: None,
        verified_at: None,
        updated_at: to_millis(now),
        version: 1,
    };
    // Claimed first, so that two accounts racing for a name never both reach SES.
    state
        .domains
        .create(&record)
        .await
        .map_err(ApiError::conflict_if_changed(format!(
            "{domain} was just added by another request"
        )))?;
    if let Err(e) = state
        .identities
        .create(&domain, &selector, keys.private_key())
        .await
    {
        // Not half-added: the name is free again for another try.
        let _ = state.domains.delete(&record).await;
        return Err(ApiError::internal(e));
    }
    if let Err(e) = state.identities.configure_mail_from(&domain).await {
        // The identity signs without it; SES falls back to its own MAIL FROM meanwhile.
        tracing::warn!(domain = %domain, error = %e, "custom MAIL FROM not configured");
    }
    tracing::info!(account = %account, domain = %domain, selector = %selector.as_str(), "domain added");
    Ok((StatusCode::CREATED, Json(View::from(record))).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    Account(account): Account,
) -> Result<Json<Value>, ApiError> {
    let items: Vec<View> = state
        .domains
        .list(&account)
        .await?
        .into_iter()
        .map(View::from)
        .collect();
    Ok(Json(serde_json::json!({"items": items})))
}

pub async fn get(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Json<View>, ApiError> {
    Ok(Json(find(&state, &account, &path).await?.into()))
}

/// Checks the records now, as the schedule would, and answers with what was found.
pub async fn verify(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Json<View>, ApiError> {
    // The scheduled check may write the same record while this one runs; the loser checks
    // again on the record as the winner left it (a check is safe to repeat), a few times.
    const TRIES: usize = 3;
    let mut tries = 1;
    loop {
        let domain = find(&state, &account, &path).await?;
        match state.checker.check(domain).await {
            Ok(checked) => return Ok(Json(checked.into())),
            Err(StoreError::PreconditionFailed) if tries < TRIES => {
                tries += 1;
                tracing::info!(account = %account, "domain check lost a race; checking again");
            }
            Err(e) => {
                return Err(ApiError::conflict_if_changed(
                    "the domain changed meanwhile; try again",
                )(e));
            }
        }
    }
}

/// Sends from `{fromAddressPrefix}@{domain}` from now on.
pub async fn use_domain(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
    JsonBody(body): JsonBody,
) -> Result<Json<View>, ApiError> {
    let mut domain = find(&state, &account, &path).await?;
    let mut errors = FieldErrors::new();
    let prefix = ObjectReader::new(body, "", &mut errors).and_then(|mut r| {
        let p = r.required("fromAddressPrefix", |v| {
            string(v).and_then(|s| LocalPart::parse(&s).map_err(|e| e.to_string()))
        });
        r.finish();
        p
    });
    let prefix = match prefix {
        Some(p) if errors.is_empty() => p,
        _ => return Err(ApiError::Validation(errors)),
    };
    if domain.in_use {
        return Err(ApiError::Conflict(format!(
            "{} is already in use",
            domain.domain
        )));
    }
    if domain.status != DomainStatus::Verified {
        return Err(ApiError::Conflict(format!(
            "{} is not verified yet: publish its DNS records, then verify it",
            domain.domain
        )));
    }
    let now = state.clock.now();
    domain.in_use = true;
    domain.from_address_prefix = Some(prefix);
    domain.updated_at = to_millis(now);
    state
        .domains
        .put_in_use(&mut domain)
        .await
        .map_err(ApiError::conflict_if_changed(
            "another domain is in use for this account (or this one changed meanwhile)",
        ))?;
    tracing::info!(account = %account, domain = %domain.domain, "domain in use");
    Ok(Json(domain.into()))
}

/// Deletes a domain not in use; `?confirm=` must repeat the domain.
pub async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let domain = find(&state, &account, &path).await?;
    if !query
        .get("confirm")
        .is_some_and(|c| domain.domain.is_confirmed_by(c))
    {
        let mut errors = FieldErrors::new();
        errors.push(
            "confirm",
            format!(
                "must repeat the domain ({}) to confirm the deletion",
                domain.domain
            ),
        );
        return Err(ApiError::Validation(errors));
    }
    if domain.in_use {
        return Err(ApiError::Conflict(format!(
            "{} is in use: the account sends from it",
            domain.domain
        )));
    }
    state
        .identities
        .delete(&domain.domain)
        .await
        .map_err(ApiError::internal)?;
    state.domains.delete(&domain).await?;
    tracing::info!(account = %account, domain = %domain.domain, "domain deleted");
    Ok(StatusCode::NO_CONTENT)
}
