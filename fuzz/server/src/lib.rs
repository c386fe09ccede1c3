//! The in-process demo federation the request target drives.

pub mod node;
