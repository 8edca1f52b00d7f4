//! What Herald's benchmarks share: local stand-ins for providers that answer after a set
//! latency, and SQS batches shaped as Lambda receives them.

pub mod provider;
pub mod receiver;
pub mod sqs;
