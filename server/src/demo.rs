//! Demo mode: a node with synthetic but valid data, its secrets generated on first start and
//! kept under `data/`, so a second start keeps everything and seeds nothing twice.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use wallet_core::CreditCode;

use crate::config::{ConfigError, Settings};

fn random_token() -> Result<String, ConfigError> {
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| ConfigError::Invalid("node_key", e.to_string()))?;
    Ok(B64.encode(bytes))
}

/// The demo's department: 郑州市市场监督管理局 (synthetic credit code in 410100).
pub fn demo_department() -> String {
    CreditCode::with_check_char("11410100MB1234567")
        .map(|c| c.to_string())
        .unwrap_or_default()
}

/// Writes `dir/node.toml` with fresh secrets unless it exists, then loads it.
pub fn settings(dir: &Path, listen: &str) -> Result<(Settings, PathBuf), ConfigError> {
    let path = dir.join("node.toml");
    if !path.exists() {
        std::fs::create_dir_all(dir).map_err(|source| ConfigError::Read {
            path: dir.display().to_string(),
            source,
        })?;
        let text = format!(
            r#"# Demo node, generated on first start. Secrets here are for the demo only.
region = "410100"
name = "郑州市电子证照系统（演示）"
listen = "{listen}"
database_url = "sqlite://{db}"
mode = "demo"
node_key = "{key}"

[[departments]]
credit_code = "{dept}"
name = "郑州市市场监督管理局"
token = "{token}"

[[cert_types]]
code = "11100000000013338W011"
name = "特种设备作业人员证"
department = "{dept}"
holder_kind = "person"
fields = [
  {{ name = "作业项目", required = true }},
  {{ name = "证书编号", required = true }},
  {{ name = "发证日期", required = true }},
  {{ name = "住址" }},
]
"#,
            db = dir.join("node.db").display(),
            key = B64.encode({
                let mut seed = [0u8; 32];
                getrandom::getrandom(&mut seed)
                    .map_err(|e| ConfigError::Invalid("node_key", e.to_string()))?;
                seed
            }),
            dept = demo_department(),
            token = random_token()?,
        );
        std::fs::write(&path, text).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
    }
    let mut settings = Settings::load(&path, |k| std::env::var(k).ok())?;
    // The address given on the command line wins over the one written on first start.
    settings.listen = listen
        .parse()
        .map_err(|e| ConfigError::Invalid("listen", format!("{e}")))?;
    Ok((settings, path))
}
