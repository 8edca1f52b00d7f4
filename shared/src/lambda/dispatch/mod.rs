pub mod handler;
pub mod setup;
