pub mod email;
pub mod sms;
