//! Every route of the API, in-process: the router over in-memory adapters (see [`harness`]),
//! each route's success and each of its error answers, with no local stack. What only the
//! deployed shape can show (API Gateway's authorizer, DynamoDB's and SQS's behaviour) stays
//! with the end-to-end tests of `tests/`.

mod harness;

mod auth;
mod callbacks;
mod custom_providers;
mod dashboard_sessions;
mod deliveries;
mod destinations;
mod domains;
mod email;
mod events;
mod logs;
mod messages;
mod notifications;
mod receipts;
mod routing;
mod settings;
mod short_links;
mod subscriptions;
