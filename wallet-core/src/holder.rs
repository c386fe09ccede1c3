//! Who a certificate belongs to: a person or an enterprise.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codec::{CodecError, Reader, Writer};
use crate::id::{CreditCode, ResidentId};

/// 持证人.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Holder {
    Person(ResidentId),
    Enterprise(CreditCode),
}

impl Holder {
    /// The identifier as text.
    pub fn id(&self) -> &str {
        match self {
            Holder::Person(p) => p.as_str(),
            Holder::Enterprise(e) => e.as_str(),
        }
    }

    /// A person's number is masked; an enterprise's credit code is public.
    pub fn masked(&self) -> String {
        match self {
            Holder::Person(p) => p.masked(),
            Holder::Enterprise(e) => e.to_string(),
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        match self {
            Holder::Person(p) => w.u8(1).str(p.as_str()),
            Holder::Enterprise(e) => w.u8(2).str(e.as_str()),
        };
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        match r.u8("holder kind")? {
            1 => Ok(Holder::Person(r.parsed(18, "holder resident ID")?)),
            2 => Ok(Holder::Enterprise(r.parsed(18, "holder credit code")?)),
            tag => Err(CodecError::Tag {
                what: "holder kind",
                tag,
            }),
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}
