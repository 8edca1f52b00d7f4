pub mod dispatch;
pub mod domains;
pub mod receipts;
pub mod sqs_batch;
pub mod webhooks;
