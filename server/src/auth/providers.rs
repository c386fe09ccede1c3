//! The outside services real-name sessions depend on: an SMS gateway for one-time codes and a
//! liveness check (实人认证). Only demo implementations exist here; they are labelled in every
//! reply they shape, and configuration refuses them in production mode.

/// Sends a one-time code to a phone.
pub trait SmsSender: Send + Sync + std::fmt::Debug {
    /// Sends `code`; returns the code itself only when the sender is the demo one, which shows
    /// it on screen instead of sending it.
    fn send(&self, phone: &str, code: &str) -> Option<String>;
    fn is_demo(&self) -> bool;
}

/// Checks that a live person is in front of the camera.
pub trait Liveness: Send + Sync + std::fmt::Debug {
    /// `evidence` is what the page captured; `Ok(())` means a live person matched `resident_id`.
    fn check(&self, resident_id: &str, evidence: &str) -> Result<(), &'static str>;
    fn is_demo(&self) -> bool;
}

/// Shows the code on screen (演示短信). For demo mode only.
#[derive(Debug, Default)]
pub struct DemoSms;

impl SmsSender for DemoSms {
    fn send(&self, phone: &str, code: &str) -> Option<String> {
        tracing::info!(phone = %mask_phone(phone), "demo SMS: one-time code shown on screen instead of sent");
        Some(code.to_owned())
    }
    fn is_demo(&self) -> bool {
        true
    }
}

/// Accepts the page's demo confirmation (演示实人认证). For demo mode only.
#[derive(Debug, Default)]
pub struct DemoLiveness;

impl Liveness for DemoLiveness {
    fn check(&self, _resident_id: &str, evidence: &str) -> Result<(), &'static str> {
        if evidence == "demo-liveness-confirmed" {
            Ok(())
        } else {
            Err("the demo liveness check expects the page's demo confirmation")
        }
    }
    fn is_demo(&self) -> bool {
        true
    }
}

/// `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    if phone.len() == 11 {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        "***".into()
    }
}
