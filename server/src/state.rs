//! What every handler shares: settings, database, the node's key and the clock.

use std::sync::Arc;

use wallet_core::{NodeKey, UnixTime};

use crate::auth::providers::{Liveness, SmsSender};
use crate::config::Settings;
use crate::db::Db;

/// The time source. Production reads the system clock; tests move time by hand.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> UnixTime + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Clock(Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        }))
    }

    pub fn from_fn(f: impl Fn() -> UnixTime + Send + Sync + 'static) -> Self {
        Clock(Arc::new(f))
    }

    pub fn now(&self) -> UnixTime {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock(now = {})", self.now())
    }
}

#[derive(Clone, Debug)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub node_key: Arc<NodeKey>,
    pub clock: Clock,
    pub sms: Arc<dyn SmsSender>,
    pub liveness: Arc<dyn Liveness>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub federation: Arc<crate::federation::Federation>,
    /// Keeps the outbox delivery task running; it stops when the last clone is dropped.
    pub outbox: Arc<crate::federation::outbox::Outbox>,
}
