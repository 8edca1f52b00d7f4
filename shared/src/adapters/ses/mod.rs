pub mod identities;
pub mod sender;
