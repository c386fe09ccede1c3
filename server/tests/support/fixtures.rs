//! The people, departments, certificate types and matters the multi-node tests (and the hops
//! bench) give their nodes, written once: each code with its check character, each piece of
//! configuration as the TOML a node's file would hold (for `nodes::add_toml`), and a citizen's
//! first steps at a wallet. A test composes the pieces its nodes need.

use serde_json::json;
use wallet_core::{CreditCode, DeviceKey, RegionCode, ResidentId};

use super::nodes::Federation;

pub const NATIONAL: &str = "100000";
pub const HENAN: &str = "410000";
pub const ZHENGZHOU: &str = "410100";

/// 特种设备作业人员证 (a person's).
pub const CRANE_TYPE: &str = "11100000000013338W011";
/// 营业执照 (an enterprise's).
pub const LICENCE_TYPE: &str = "11100000000013338W070";
/// 建筑起重机械设备使用登记, which asks for the crane-operator certificate.
pub const CRANE_MATTER: &str = "JS-QZJX-SYDJ";

/// The business systems' tokens of Zhengzhou's and Henan's departments.
pub const AMR_TOKEN: &str = "zhengzhou-amr-test-token-0001";
pub const HRSS_TOKEN: &str = "zhengzhou-hrss-test-token-0002";
pub const HENAN_AMR_TOKEN: &str = "henan-amr-test-token-00000001";

/// 郑州市市场监督管理局.
pub fn amr() -> String {
    credit_code("11410100MB1234567")
}

/// 郑州市人力资源和社会保障局.
pub fn hrss() -> String {
    credit_code("11410100MB7654321")
}

/// 河南省市场监督管理局.
pub fn henan_amr() -> String {
    credit_code("11410000MB2345678")
}

/// A region's own market regulator, `11<region>MB1234567` (Zhengzhou's is `amr()`).
pub fn regulator_of(region: &str) -> String {
    credit_code(&format!("11{region}MB1234567"))
}

/// 漯河市起重机械安装有限公司.
pub fn firm() -> String {
    credit_code("91411100MA4567890")
}

/// 张三 (张伟 in the retrieval scenarios): holder of the crane certificate, legal
/// representative of `firm()`.
pub fn person() -> String {
    ResidentId::with_check_digit("41010219850312003")
        .unwrap()
        .to_string()
}

/// Someone else: a stranger to the certificate, or the staffer it is granted to.
pub fn other_person() -> String {
    ResidentId::with_check_digit("41110219900101002")
        .unwrap()
        .to_string()
}

pub fn r(code: &str) -> RegionCode {
    code.parse().unwrap()
}

fn credit_code(without_check: &str) -> String {
    CreditCode::with_check_char(without_check)
        .unwrap()
        .to_string()
}

/// `[[departments]]`: a department and its business system's token.
pub fn department(credit_code: &str, name: &str, token: &str) -> String {
    format!(
        r#"
[[departments]]
credit_code = "{credit_code}"
name = "{name}"
token = "{token}"
"#
    )
}

/// `[[cert_types]]`: the crane-operator certificate issued by `department`; 作业项目 and
/// 证书编号 required, 住址 optional.
pub fn crane_type(department: &str) -> String {
    format!(
        r#"
[[cert_types]]
code = "{CRANE_TYPE}"
name = "特种设备作业人员证"
department = "{department}"
holder_kind = "person"
fields = [
  {{ name = "作业项目", required = true }},
  {{ name = "证书编号", required = true }},
  {{ name = "住址" }},
]
"#
    )
}

/// `[[cert_types]]`: the business licence issued by `department`, in the national catalog,
/// disclosable by its 名称 only.
pub fn licence_type(department: &str) -> String {
    format!(
        r#"
[[cert_types]]
code = "{LICENCE_TYPE}"
name = "营业执照"
department = "{department}"
holder_kind = "enterprise"
disclosable = true
national = true
fields = [{{ name = "名称", required = true, disclosable = true }}, {{ name = "住所", required = true }}]
"#
    )
}

/// `[[enterprises]]`: `firm()`, whose legal representative is `person()`.
pub fn firm_and_its_representative() -> String {
    format!(
        r#"
[[enterprises]]
credit_code = "{firm}"
name = "漯河市起重机械安装有限公司"
legal_rep_id = "{rep}"
"#,
        firm = firm(),
        rep = person(),
    )
}

/// `[[staff]]`: a clerk of `department` at `counter`.
pub fn clerk(id: &str, department: &str, counter: &str, password: &str) -> String {
    format!(
        r#"
[[staff]]
id = "{id}"
name = "王窗口"
role = "clerk"
department = "{department}"
counter = "{counter}"
password = "{password}"
"#
    )
}

/// `[[matters]]`: the crane registration handled by `department`, which takes the crane
/// certificate's 作业项目 and 证书编号 only.
pub fn crane_matter(department: &str) -> String {
    format!(
        r#"
[[matters]]
code = "{CRANE_MATTER}"
name = "建筑起重机械设备使用登记"
department = "{department}"
materials = [
  {{ name = "建筑起重机械设备使用登记表" }},
  {{ name = "特种设备作业人员证", cert_type = "{CRANE_TYPE}", fields = ["作业项目", "证书编号"] }},
]
"#
    )
}

/// Asks a node's wallet for a one-time code for `phone`; the demo sender shows it.
pub async fn otp(fed: &Federation, region: &str, phone: &str, purpose: &str) -> String {
    let (status, body) = fed
        .post(
            region,
            "/api/wallet/otp",
            None,
            &json!({"phone": phone, "purpose": purpose}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    body["demo_code"].as_str().unwrap().to_owned()
}

/// Puts a person in a node's population registry and registers them at its wallet; returns
/// the access token.
pub async fn citizen(fed: &Federation, region: &str, id: &str, name: &str, phone: &str) -> String {
    fed.state(region)
        .db
        .upsert_resident(id, name)
        .await
        .unwrap();
    let code = otp(fed, region, phone, "register").await;
    let (status, body) = fed
        .post(
            region,
            "/api/wallet/register",
            None,
            &json!({"resident_id": id, "name": name, "phone": phone, "code": code}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// `citizen`, then a device key registered for the session; returns (access token, key).
pub async fn citizen_with_device(
    fed: &Federation,
    region: &str,
    id: &str,
    name: &str,
    phone: &str,
) -> (String, DeviceKey) {
    let token = citizen(fed, region, id, name, phone).await;
    let key = DeviceKey::generate().unwrap();
    let (status, body) = fed
        .post(
            region,
            "/api/wallet/devices",
            Some(&token),
            &json!({"public_key": key.public_key().to_string()}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (token, key)
}
