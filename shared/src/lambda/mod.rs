pub mod dispatch;
pub mod domains;
pub mod sqs_batch;
pub mod webhooks;
