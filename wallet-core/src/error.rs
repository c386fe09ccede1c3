//! Stable error codes shared by the server, the page and the tests.
//!
//! Each area of the core has its own `thiserror` enum. They all implement [`Coded`], which
//! gives the stable snake_case code (what programs match on; never renamed) and a plain
//! Chinese sentence for the person in front of the screen.

/// An error that the node's HTTP layer and the page can show.
pub trait Coded: std::error::Error {
    /// Stable snake_case identifier, for programs.
    fn code(&self) -> &'static str;
    /// Plain simplified-Chinese message, for people.
    fn message_zh(&self) -> &'static str;
}
