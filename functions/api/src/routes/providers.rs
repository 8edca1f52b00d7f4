//! `GET /sms-providers`: the providers the operator offers, with their sender-name rules.

use axum::Json;
use axum::extract::State;
use herald::messaging::sms::{SenderNameRules, SmsProvider};
use serde::Serialize;

use crate::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    id: SmsProvider,
    name: &'static str,
    /// The provider accounts get as primary until they choose.
    is_default: bool,
    sender_name_rules: SenderNameRules,
}

#[derive(Serialize)]
pub struct ProviderList {
    items: Vec<ProviderView>,
}

pub async fn list(State(state): State<AppState>) -> Json<ProviderList> {
    let items = state
        .config
        .platform
        .sms_providers
        .iter()
        .enumerate()
        .map(|(i, &p)| ProviderView {
            id: p,
            name: p.display_name(),
            is_default: i == 0,
            sender_name_rules: p.sender_name_rules(),
        })
        .collect();
    Json(ProviderList { items })
}
