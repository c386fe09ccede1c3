//! What the demo federation knows about: the certificate types each node's departments issue
//! (证照目录) and the matters (政务服务事项) its counters handle, with the materials an
//! e-certificate replaces.

use wallet_core::id::IdError;
use wallet_core::CreditCode;

use super::people::{
    Dept, HA_HUD, LH_CA, LH_EE, LH_HF, LH_HRSS, LH_HUD, SAMR, WH_AMR, ZZ_AMR, ZZ_NRP,
};
use super::{HENAN, LUOHE};
use crate::db::cases::{DirectoryMatter, Material, Matter};

/// One field of a type's schema: name, required, publicly disclosable.
pub type FieldDef = (&'static str, bool, bool);

/// A catalog entry. The code is the competent ministry's credit code plus a 3-digit number
/// (GB/T 36904); the same type can be issued at several nodes, each entry naming the local
/// department.
#[derive(Debug)]
pub struct TypeSpec {
    /// First 17 symbols of the ministry's credit code; the check character is computed.
    pub ministry17: &'static str,
    pub number: &'static str,
    pub name: &'static str,
    pub dept: &'static Dept,
    pub holder_kind: &'static str,
    pub disclosable: bool,
    pub national: bool,
    pub fields: &'static [FieldDef],
}

impl TypeSpec {
    /// The 21-character type code.
    pub fn code(&self) -> Result<String, IdError> {
        Ok(format!(
            "{}{}",
            CreditCode::with_check_char(self.ministry17)?,
            self.number
        ))
    }
}

/// 国家市场监督管理总局 (its code is the one in the standard's examples).
const SAMR17: &str = "11100000000013338";
/// Synthetic ministry codes: 自然资源部, 民政部, 人力资源和社会保障部, 生态环境部.
const MNR17: &str = "11100000MB0000011";
const MCA17: &str = "11100000MB0000012";
const MOHRSS17: &str = "11100000MB0000013";
const MEE17: &str = "11100000MB0000014";

const OPERATOR_FIELDS: &[FieldDef] = &[
    ("作业项目", true, false),
    ("项目代号", true, false),
    ("证书编号", true, false),
    ("发证日期", true, false),
    ("复审日期", false, false),
    ("住址", false, false),
];

/// 特种设备作业人员证, issued in Zhengzhou (scenario 1).
pub const OPERATOR_ZZ: TypeSpec = TypeSpec {
    ministry17: SAMR17,
    number: "011",
    name: "特种设备作业人员证",
    dept: &ZZ_AMR,
    holder_kind: "person",
    disclosable: false,
    national: false,
    fields: OPERATOR_FIELDS,
};
/// The same type issued in Wuhan (the cross-province retrieval).
pub const OPERATOR_WH: TypeSpec = TypeSpec {
    dept: &WH_AMR,
    ..OPERATOR_ZZ
};
/// 电子营业执照, issued at the national node and listed in the national catalog.
pub const LICENCE: TypeSpec = TypeSpec {
    ministry17: SAMR17,
    number: "070",
    name: "营业执照",
    dept: &SAMR,
    holder_kind: "enterprise",
    disclosable: false,
    national: true,
    fields: &[
        ("类型", true, false),
        ("法定代表人", true, false),
        ("注册资本", true, false),
        ("成立日期", true, false),
        ("营业期限", true, false),
        ("住所", true, false),
        ("经营范围", true, false),
        ("登记机关", true, false),
    ],
};
pub const PROPERTY: TypeSpec = TypeSpec {
    ministry17: MNR17,
    number: "001",
    name: "不动产权证书",
    dept: &ZZ_NRP,
    holder_kind: "person",
    disclosable: false,
    national: false,
    fields: &[
        ("不动产权证号", true, false),
        ("共有情况", true, false),
        ("坐落", true, false),
        ("不动产单元号", true, false),
        ("权利类型", true, false),
        ("权利性质", false, false),
        ("用途", true, false),
        ("面积", true, false),
        ("使用期限", false, false),
        ("登记日期", true, false),
    ],
};
pub const MARRIAGE: TypeSpec = TypeSpec {
    ministry17: MCA17,
    number: "001",
    name: "结婚证",
    dept: &LH_CA,
    holder_kind: "person",
    disclosable: false,
    national: false,
    fields: &[
        ("结婚证字号", true, false),
        ("登记日期", true, false),
        ("配偶姓名", true, false),
        ("配偶身份证件号", true, false),
        ("登记机关", true, false),
    ],
};
/// 就业创业证: the notice has the enterprise find it by its credit code or full name, so it is
/// held by the enterprise and names the entrepreneur.
pub const EMPLOYMENT: TypeSpec = TypeSpec {
    ministry17: MOHRSS17,
    number: "001",
    name: "就业创业证",
    dept: &LH_HRSS,
    holder_kind: "enterprise",
    disclosable: false,
    national: false,
    fields: &[
        ("证号", true, false),
        ("持证创业人员", true, false),
        ("就业创业类型", true, false),
        ("发证机构", true, false),
        ("发证日期", true, false),
    ],
};
/// 排污许可证: disclosable, with only number, name, validity and issuer shown to the public.
pub const POLLUTANT: TypeSpec = TypeSpec {
    ministry17: MEE17,
    number: "001",
    name: "排污许可证",
    dept: &LH_EE,
    holder_kind: "enterprise",
    disclosable: true,
    national: false,
    fields: &[
        ("许可证编号", true, true),
        ("单位名称", true, true),
        ("有效期限", true, true),
        ("发证机关", true, true),
        ("行业类别", true, false),
        ("法定代表人", true, false),
        ("生产经营场所地址", true, false),
        ("主要污染物类别", false, false),
    ],
};

pub const TYPES: &[&TypeSpec] = &[
    &LICENCE,
    &OPERATOR_ZZ,
    &PROPERTY,
    &MARRIAGE,
    &EMPLOYMENT,
    &POLLUTANT,
    &OPERATOR_WH,
];

fn paper(name: &str) -> Material {
    Material {
        name: name.into(),
        cert_type: None,
        fields: Vec::new(),
        sharing: None,
    }
}

/// A material the province's sharing platform supplies (`tax_invoice`, `deed_tax`).
fn shared(name: &str, record: &str) -> Material {
    Material {
        sharing: Some(record.into()),
        ..paper(name)
    }
}

fn replaced(name: &str, t: &TypeSpec, fields: &[&str]) -> Result<Material, IdError> {
    Ok(Material {
        name: name.into(),
        cert_type: Some(t.code()?),
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        sharing: None,
    })
}

fn matter(
    code: &str,
    name: &str,
    dept: &Dept,
    materials: Vec<Material>,
) -> Result<Matter, IdError> {
    Ok(Matter {
        code: code.into(),
        name: name.into(),
        department: dept.credit_code()?.to_string(),
        materials,
    })
}

pub const CRANE_MATTER: &str = "411100-JS-0042";
pub const HOUSING_FUND_MATTER: &str = "411100-GJJ-0011";
pub const LOAN_MATTER: &str = "411100-RS-0021";
/// The five housing-and-construction matters at the provincial hall (scenario 4).
pub const CONSTRUCTION_MATTERS: [&str; 5] = [
    "410000-ZJ-0101",
    "410000-ZJ-0102",
    "410000-ZJ-0103",
    "410000-ZJ-0104",
    "410000-ZJ-0105",
];

/// What the construction matters need of the business licence.
const LICENCE_FIELDS: &[&str] = &[
    "类型",
    "法定代表人",
    "注册资本",
    "成立日期",
    "住所",
    "经营范围",
];

/// The matters a node's counters handle.
pub fn matters(region: &str) -> Result<Vec<Matter>, IdError> {
    match region {
        LUOHE => luohe_matters(),
        HENAN => henan_matters(),
        _ => Ok(Vec::new()),
    }
}

/// A province's matter directory: the matters of its cities' counters.
pub fn directory(region: &str) -> Result<Vec<DirectoryMatter>, IdError> {
    let cities: &[&str] = match region {
        HENAN => &[LUOHE],
        _ => &[],
    };
    let mut out = Vec::new();
    for city in cities {
        out.extend(matters(city)?.into_iter().map(|matter| DirectoryMatter {
            region: (*city).to_owned(),
            matter,
        }));
    }
    Ok(out)
}

fn luohe_matters() -> Result<Vec<Matter>, IdError> {
    Ok(vec![
        // Scenario 1, the notice's material list; the operator certificate is one fewer.
        matter(
            CRANE_MATTER,
            "建筑起重机械设备使用登记",
            &LH_HUD,
            vec![
                paper("建筑起重机械设备使用登记表"),
                paper("建筑起重机械设备生产安全事故应急救援预案"),
                paper("建筑起重机械设备使用、维护保养等管理制度"),
                paper("建筑起重机械设备备案证"),
                paper("建筑起重机械设备定期检验及安装后检验检测报告和安装验收资料"),
                paper("建筑起重机械设备租赁合同（非租赁设备不提供本项材料）"),
                replaced(
                    "特种设备作业人员证",
                    &OPERATOR_ZZ,
                    &["作业项目", "项目代号", "证书编号", "发证日期", "复审日期"],
                )?,
            ],
        )?,
        // Scenario 2: invoice and deed tax come from the province's sharing platform.
        matter(
            HOUSING_FUND_MATTER,
            "购买二手自住住房提取住房公积金",
            &LH_HF,
            vec![
                paper("身份证"),
                paper("I类借记卡"),
                replaced(
                    "不动产权证书",
                    &PROPERTY,
                    &[
                        "不动产权证号",
                        "共有情况",
                        "坐落",
                        "权利类型",
                        "用途",
                        "面积",
                        "登记日期",
                    ],
                )?,
                replaced(
                    "结婚证",
                    &MARRIAGE,
                    &["结婚证字号", "登记日期", "配偶姓名", "配偶身份证件号"],
                )?,
                shared("购房发票", "tax_invoice"),
                shared("契税完税凭证", "deed_tax"),
            ],
        )?,
        // Scenario 3: two materials fewer.
        matter(
            LOAN_MATTER,
            "创业担保贷款（小微企业）",
            &LH_HRSS,
            vec![
                paper("创业担保贷款企业申请书"),
                paper("法定代表人身份证"),
                replaced(
                    "就业创业证",
                    &EMPLOYMENT,
                    &[
                        "证号",
                        "持证创业人员",
                        "就业创业类型",
                        "发证机构",
                        "发证日期",
                    ],
                )?,
                paper("劳动合同和工资表"),
                replaced("营业执照", &LICENCE, LICENCE_FIELDS)?,
                paper("行业经营许可证"),
            ],
        )?,
    ])
}

fn henan_matters() -> Result<Vec<Matter>, IdError> {
    let licence = || replaced("营业执照", &LICENCE, LICENCE_FIELDS);
    let [registration, safety_staff, safety_permit, survey, design] = CONSTRUCTION_MATTERS;
    Ok(vec![
        matter(
            registration,
            "二级建造师执业资格注册",
            &HA_HUD,
            vec![
                paper("二级建造师注册申请表"),
                paper("二级建造师资格证书"),
                paper("身份证"),
                paper("与聘用企业签订的劳动合同"),
                licence()?,
            ],
        )?,
        matter(
            safety_staff,
            "建筑施工企业安管人员考核",
            &HA_HUD,
            vec![
                paper("安全生产考核申请表"),
                paper("身份证"),
                paper("学历证书或职称证书"),
                paper("安全生产培训合格证明"),
                licence()?,
            ],
        )?,
        matter(
            safety_permit,
            "建筑业企业安全生产许可证",
            &HA_HUD,
            vec![
                paper("建筑施工企业安全生产许可证申请表"),
                licence()?,
                paper("安全生产责任制和安全生产管理制度目录"),
                paper("安管人员安全生产考核合格证书"),
                paper("特种作业人员操作资格证书"),
                paper("工伤保险缴费证明"),
            ],
        )?,
        matter(
            survey,
            "工程勘察资质",
            &HA_HUD,
            vec![
                paper("工程勘察资质申请表"),
                licence()?,
                paper("注册人员和主要技术负责人证明材料"),
                paper("技术装备及试验室证明材料"),
                paper("企业质量管理体系文件"),
            ],
        )?,
        matter(
            design,
            "工程设计资质",
            &HA_HUD,
            vec![
                paper("工程设计资质申请表"),
                licence()?,
                paper("注册人员和主要专业技术人员证明材料"),
                paper("代表工程业绩证明材料"),
                paper("企业质量管理体系文件"),
            ],
        )?,
    ])
}
