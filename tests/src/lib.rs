//! Shared helpers for Herald's integration tests.
