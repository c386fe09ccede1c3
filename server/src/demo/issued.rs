//! What the demo's people and enterprises hold: the certificates each node issues at its first
//! start, and the sharing platform's tax records. Dates count back from the day of seeding, so
//! the data looks current whenever the demo is first started: validity began in the past and
//! ends years ahead, except for one 排污许可证 that runs out within 30 days and one that has
//! expired.

use std::collections::BTreeMap;

use wallet_core::id::IdError;

use super::catalog::{
    TypeSpec, EMPLOYMENT, LICENCE, MARRIAGE, OPERATOR_WH, OPERATOR_ZZ, POLLUTANT, PROPERTY,
};
use super::people::{
    Enterprise, Person, ANDA, CHEN_JING, JINYUAN_PLASTICS, LIU_YANG, LVYUAN_MEAT, LVYUAN_POWER,
    QINGHE, QINGYUAN_CHEMICAL, QINGYUAN_FOOD, QINGYUAN_PAPER, SUN_LI, WANG_LEI, YUTONG, ZHANG_WEI,
};
use crate::db::sharing::{DeedTaxRecord, TaxInvoice};

pub const DAY: i64 = 86_400;
pub const YEAR: i64 = 365 * DAY;
/// China Standard Time, UTC+8: dates on certificates are local dates.
const CST: i64 = 8 * 3600;

/// The start of the local day containing `t`.
pub fn day_start(t: i64) -> i64 {
    (t + CST).div_euclid(DAY) * DAY - CST
}

fn civil(t: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = (t + CST).div_euclid(DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `2024-05-20`.
pub fn date(t: i64) -> String {
    let (y, m, d) = civil(t);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2024年05月20日`.
pub fn date_zh(t: i64) -> String {
    let (y, m, d) = civil(t);
    format!("{y:04}年{m:02}月{d:02}日")
}

fn year(t: i64) -> i64 {
    civil(t).0
}

/// One certificate to issue at its department's node, as the issuance route would receive it.
#[derive(Debug, Clone)]
pub struct SeedCert {
    pub ty: &'static TypeSpec,
    pub holder_kind: &'static str,
    pub holder_id: String,
    pub holder_name: String,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    pub fields: BTreeMap<String, String>,
}

impl SeedCert {
    /// The region of the node that issues and keeps it.
    pub fn node(&self) -> &'static str {
        self.ty.dept.node
    }
}

fn to_person(
    ty: &'static TypeSpec,
    p: &Person,
    valid_from: i64,
    valid_until: Option<i64>,
    fields: &[(&str, String)],
) -> Result<SeedCert, IdError> {
    Ok(SeedCert {
        ty,
        holder_kind: "person",
        holder_id: p.resident_id()?.to_string(),
        holder_name: p.name.into(),
        valid_from,
        valid_until,
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    })
}

fn to_enterprise(
    ty: &'static TypeSpec,
    e: &Enterprise,
    valid_from: i64,
    valid_until: Option<i64>,
    fields: &[(&str, String)],
) -> Result<SeedCert, IdError> {
    Ok(SeedCert {
        ty,
        holder_kind: "enterprise",
        holder_id: e.credit_code()?.to_string(),
        holder_name: e.name.into(),
        valid_from,
        valid_until,
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    })
}

/// 特种设备作业人员证: four years, then review (复审).
fn operator(
    ty: &'static TypeSpec,
    p: &Person,
    from: i64,
    item: (&str, &str),
    serial: &str,
    address: &str,
) -> Result<SeedCert, IdError> {
    let until = from + 4 * YEAR;
    let region = &ty.dept.code17[2..6];
    to_person(
        ty,
        p,
        from,
        Some(until),
        &[
            ("作业项目", item.0.into()),
            ("项目代号", item.1.into()),
            ("证书编号", format!("TZ{region}{}{serial}", year(from))),
            ("发证日期", date(from)),
            ("复审日期", date(until)),
            ("住址", address.into()),
        ],
    )
}

/// 电子营业执照 with a 30-year 营业期限.
fn licence(
    e: &Enterprise,
    founded: i64,
    kind: &str,
    capital: &str,
    address: &str,
    scope: &str,
    registrar: &str,
) -> Result<SeedCert, IdError> {
    let until = founded + 30 * YEAR;
    to_enterprise(
        &LICENCE,
        e,
        founded,
        Some(until),
        &[
            ("类型", kind.into()),
            ("法定代表人", e.legal_rep.name.into()),
            ("注册资本", capital.into()),
            ("成立日期", date(founded)),
            (
                "营业期限",
                format!("{}至{}", date_zh(founded), date_zh(until)),
            ),
            ("住所", address.into()),
            ("经营范围", scope.into()),
            ("登记机关", registrar.into()),
        ],
    )
}

/// 排污许可证, five years; the number follows HJ 608: credit code + site number + letter.
fn permit(
    e: &Enterprise,
    from: i64,
    site: &str,
    industry: &str,
    address: &str,
    pollutants: &str,
) -> Result<SeedCert, IdError> {
    let until = from + 5 * YEAR;
    to_enterprise(
        &POLLUTANT,
        e,
        from,
        Some(until),
        &[
            ("许可证编号", format!("{}{site}P", e.credit_code()?)),
            ("单位名称", e.name.into()),
            (
                "有效期限",
                format!("自{}至{}", date_zh(from), date_zh(until - DAY)),
            ),
            ("发证机关", POLLUTANT.dept.name.into()),
            ("行业类别", industry.into()),
            ("法定代表人", e.legal_rep.name.into()),
            ("生产经营场所地址", address.into()),
            ("主要污染物类别", pollutants.into()),
        ],
    )
}

/// The property bought in Zhengzhou (scenario 2); the tax records name the same address.
const PROPERTY_ADDRESS: &str = "郑州市金水区文化路88号院3号楼2单元1202号";

/// Every certificate of the demo, at every node. `now` is the time of seeding.
pub fn certificates(now: i64) -> Result<Vec<SeedCert>, IdError> {
    let today = day_start(now);
    let registered = today - 210 * DAY;
    let married = today - 9 * YEAR - 37 * DAY;
    let marriage = |p: &Person, spouse: &Person| {
        to_person(
            &MARRIAGE,
            p,
            married,
            None,
            &[
                ("结婚证字号", format!("J411102-{}-000520", year(married))),
                ("登记日期", date(married)),
                ("配偶姓名", spouse.name.into()),
                ("配偶身份证件号", spouse.resident_id()?.to_string()),
                ("登记机关", "漯河市源汇区民政局".into()),
            ],
        )
    };
    let mut all = vec![
        // Scenario 1, issued in Zhengzhou.
        operator(
            &OPERATOR_ZZ,
            &ZHANG_WEI,
            today - 400 * DAY,
            ("起重机司机", "Q2"),
            "000318",
            "郑州市中原区建设路12号院",
        )?,
        // Scenario 2: the home in Zhengzhou; the marriage registered in Luohe, so the Luohe
        // counter finds it at its own node while the property certificate comes via the
        // province.
        to_person(
            &PROPERTY,
            &LIU_YANG,
            registered,
            None,
            &[
                (
                    "不动产权证号",
                    format!("豫（{}）郑州市不动产权第0136752号", year(registered)),
                ),
                ("共有情况", "共同共有".into()),
                ("坐落", PROPERTY_ADDRESS.into()),
                ("不动产单元号", "410105007001GB00088F00030122".into()),
                ("权利类型", "国有建设用地使用权/房屋所有权".into()),
                ("权利性质", "出让/存量房买卖".into()),
                ("用途", "城镇住宅用地/住宅".into()),
                ("面积", "共有宗地面积12860.35㎡/房屋建筑面积98.76㎡".into()),
                ("使用期限", "国有建设用地使用权至2078年05月11日止".into()),
                ("登记日期", date(registered)),
            ],
        )?,
        marriage(&LIU_YANG, &SUN_LI)?,
        marriage(&SUN_LI, &LIU_YANG)?,
        // Scenario 3.
        to_enterprise(
            &EMPLOYMENT,
            &QINGHE,
            today - 300 * DAY,
            Some(today - 300 * DAY + 5 * YEAR),
            &[
                ("证号", format!("411102{}0001567", year(today - 300 * DAY))),
                ("持证创业人员", QINGHE.legal_rep.name.into()),
                ("就业创业类型", "自主创业（小微企业）".into()),
                ("发证机构", "漯河市人力资源和社会保障局".into()),
                ("发证日期", date(today - 300 * DAY)),
            ],
        )?,
        // Scenarios 1, 3 and 4: the enterprises' electronic business licences.
        licence(
            &ANDA,
            today - 8 * YEAR - 45 * DAY,
            "有限责任公司（自然人投资或控股）",
            "伍佰万元整",
            "河南省漯河市召陵区黄河路西段18号",
            "建筑工程机械与设备租赁；起重机械安装、改造、维修；建筑材料销售",
            "漯河市市场监督管理局",
        )?,
        licence(
            &QINGHE,
            today - 2 * YEAR - 90 * DAY,
            "有限责任公司（自然人独资）",
            "壹佰万元整",
            "河南省漯河市源汇区嵩山路食品产业园6号",
            "食品生产；食品销售；食品技术开发、技术咨询",
            "漯河市源汇区市场监督管理局",
        )?,
        licence(
            &YUTONG,
            today - 12 * YEAR - 150 * DAY,
            "有限责任公司（自然人投资或控股）",
            "伍仟万元整",
            "河南省郑州市金水区花园路66号",
            "建设工程施工；建设工程勘察；建设工程设计；住宅室内装饰装修",
            "郑州市市场监督管理局",
        )?,
        // Cross-province: issued in Wuhan, one to a Henan wallet user working in Luohe.
        operator(
            &OPERATOR_WH,
            &WANG_LEI,
            today - 700 * DAY,
            ("起重机司机", "Q2"),
            "001207",
            "漯河市源汇区交通路45号",
        )?,
        operator(
            &OPERATOR_WH,
            &CHEN_JING,
            today - 100 * DAY,
            ("起重机指挥", "Q1"),
            "002046",
            "武汉市江岸区解放大道1688号",
        )?,
    ];
    // Scenario 5: six permits; 清源纸业 runs out in 20 days, 清源化工 expired 40 days ago.
    all.extend([
        permit(
            &QINGYUAN_FOOD,
            today - 2 * YEAR,
            "001",
            "肉制品及副产品加工",
            "漯河市源汇区嵩山路食品产业园12号",
            "废水、废气",
        )?,
        permit(
            &QINGYUAN_PAPER,
            today + 20 * DAY - 5 * YEAR,
            "001",
            "机制纸及纸板制造",
            "漯河市郾城区沙北工业园区3号",
            "废水、废气、一般工业固体废物",
        )?,
        permit(
            &QINGYUAN_CHEMICAL,
            today - 40 * DAY - 5 * YEAR,
            "001",
            "有机化学原料制造",
            "漯河市郾城区化工园区纬二路8号",
            "废气、废水",
        )?,
        permit(
            &LVYUAN_MEAT,
            today - 3 * YEAR,
            "002",
            "畜禽屠宰",
            "漯河市召陵区阳山路27号",
            "废水、恶臭",
        )?,
        permit(
            &LVYUAN_POWER,
            today - 400 * DAY,
            "001",
            "热电联产",
            "漯河市召陵区东城产业集聚区热源路1号",
            "废气（二氧化硫、氮氧化物、颗粒物）",
        )?,
        permit(
            &JINYUAN_PLASTICS,
            today - YEAR,
            "001",
            "塑料薄膜制造",
            "漯河市召陵区长江路106号",
            "挥发性有机物",
        )?,
    ]);
    Ok(all)
}

/// The province's sharing-platform records for 刘洋's purchase (scenario 2): the invoice and
/// the deed tax, paid days before the property was registered.
pub fn sharing_records(now: i64) -> Result<(Vec<TaxInvoice>, Vec<DeedTaxRecord>), IdError> {
    let registered = day_start(now) - 210 * DAY;
    let buyer = LIU_YANG.resident_id()?.to_string();
    let invoice = TaxInvoice {
        invoice_number: format!("{}412000000031415926", year(registered) % 100),
        buyer_id: buyer.clone(),
        buyer_name: LIU_YANG.name.into(),
        seller_name: "钱进".into(),
        property_address: PROPERTY_ADDRESS.into(),
        amount_fen: 128_000_000,
        issued_at: registered - 12 * DAY,
    };
    let deed_tax = DeedTaxRecord {
        certificate_number: format!("341046{:02}0312345678", year(registered) % 100),
        payer_id: buyer,
        payer_name: LIU_YANG.name.into(),
        property_address: PROPERTY_ADDRESS.into(),
        amount_fen: 1_280_000,
        paid_at: registered - 7 * DAY,
        tax_authority: "国家税务总局郑州市金水区税务局".into(),
    };
    Ok((vec![invoice], vec![deed_tax]))
}
