//! Who lives in the demo federation: residents, enterprises, the departments that issue and
//! the staff at the counters. Every identifier is synthetic and gets its check character from
//! `wallet-core` (`ResidentId::with_check_digit`, `CreditCode::with_check_char`), never by hand.

use wallet_core::id::IdError;
use wallet_core::{CreditCode, ResidentId};

use super::{HENAN, HUBEI, LUOHE, NATIONAL, WUHAN, ZHENGZHOU};

/// A resident. Their population-registry row lives at `home` (a province); those with a phone
/// also have a wallet account there.
#[derive(Debug)]
pub struct Person {
    pub name: &'static str,
    /// The first 17 digits of the resident ID; the check digit is computed.
    pub id17: &'static str,
    pub home: &'static str,
    pub phone: Option<&'static str>,
    /// What the person does in the demo, as printed at start.
    pub role: &'static str,
}

impl Person {
    pub fn resident_id(&self) -> Result<ResidentId, IdError> {
        ResidentId::with_check_digit(self.id17)
    }
}

pub const ZHANG_WEI: Person = Person {
    name: "张伟",
    id17: "41010219850312031",
    home: HENAN,
    phone: Some("19903710001"),
    role: "场景一 持证人：特种设备作业人员证（郑州颁发），授权李娜使用",
};
pub const LI_NA: Person = Person {
    name: "李娜",
    id17: "41110219920607042",
    home: HENAN,
    phone: Some("19903950002"),
    role: "场景一 被授权人：漯河市安达建筑机械有限公司经办人",
};
pub const ZHAO_JIANGUO: Person = Person {
    name: "赵建国",
    id17: "41110319700915011",
    home: HENAN,
    phone: Some("19903950003"),
    role: "漯河市安达建筑机械有限公司法定代表人",
};
pub const LIU_YANG: Person = Person {
    name: "刘洋",
    id17: "41110219880420053",
    home: HENAN,
    phone: Some("19903950004"),
    role: "场景二 提取人：郑州购房（不动产权证书），漯河缴存公积金，结婚证（漯河颁发）",
};
pub const SUN_LI: Person = Person {
    name: "孙丽",
    id17: "41110219900118064",
    home: HENAN,
    phone: Some("19903950005"),
    role: "场景二 提取人配偶：结婚证（漯河颁发）",
};
pub const ZHOU_MIN: Person = Person {
    name: "周敏",
    id17: "41110419870723028",
    home: HENAN,
    phone: Some("19903950006"),
    role: "场景三 漯河市青禾食品科技有限公司法定代表人",
};
pub const YANG_FAN: Person = Person {
    name: "杨帆",
    id17: "41010519800505017",
    home: HENAN,
    phone: Some("19903710007"),
    role: "场景四 河南豫通建设工程有限公司法定代表人",
};
pub const XU_JING: Person = Person {
    name: "许静",
    id17: "41110219940815042",
    home: HENAN,
    phone: Some("19903950010"),
    role: "场景三 漯河市青禾食品科技有限公司证照管理员（法定代表人周敏指定）",
};
pub const HAN_DONG: Person = Person {
    name: "韩冬",
    id17: "41010519860310013",
    home: HENAN,
    phone: Some("19903710011"),
    role: "场景四 河南豫通建设工程有限公司员工：由法定代表人杨帆在钱包中指定为证照管理员",
};
pub const LIN_TAO: Person = Person {
    name: "林涛",
    id17: "41010219910618057",
    home: HENAN,
    phone: Some("19903710012"),
    role: "场景四 河南豫通建设工程有限公司经办人：经授权到省政务服务中心办理住建业务",
};
pub const WANG_LEI: Person = Person {
    name: "王磊",
    id17: "42010619890228035",
    home: HENAN,
    phone: Some("19903950008"),
    role: "跨省 持证人：特种设备作业人员证（武汉颁发），在漯河工作",
};
pub const CHEN_JING: Person = Person {
    name: "陈静",
    id17: "42010219930811046",
    home: HUBEI,
    phone: Some("19902700009"),
    role: "湖北钱包用户：特种设备作业人员证（武汉颁发）",
};

const fn rep(name: &'static str, id17: &'static str) -> Person {
    Person {
        name,
        id17,
        home: HENAN,
        phone: None,
        role: "排污单位法定代表人",
    }
}

pub const WU_ZHIQIANG: Person = rep("吴志强", "41110219680302015");
pub const ZHENG_HAIYAN: Person = rep("郑海燕", "41110319720814026");
pub const FENG_GUOQING: Person = rep("冯国庆", "41110419691001033");
pub const HE_LIPING: Person = rep("何丽萍", "41110219750619044");
pub const GAO_JIANJUN: Person = rep("高建军", "41110319660127051");
pub const MA_HONGMEI: Person = rep("马红梅", "41110419780909062");

/// Everyone, in the order the start-up banner lists them.
pub const PEOPLE: &[&Person] = &[
    &ZHANG_WEI,
    &LI_NA,
    &ZHAO_JIANGUO,
    &LIU_YANG,
    &SUN_LI,
    &ZHOU_MIN,
    &YANG_FAN,
    &XU_JING,
    &HAN_DONG,
    &LIN_TAO,
    &WANG_LEI,
    &CHEN_JING,
    &WU_ZHIQIANG,
    &ZHENG_HAIYAN,
    &FENG_GUOQING,
    &HE_LIPING,
    &GAO_JIANJUN,
    &MA_HONGMEI,
];

/// An enterprise with its legal representative and the certificate administrators (证照管理员)
/// the legal representative appointed before the demo starts (more are appointed in the
/// wallet: `POST /api/wallet/enterprise/{credit_code}/admins`). Its
/// registry row is configured at every node in `nodes`: the wallet province (links in the
/// wallet), its home city, and each node that issues it a certificate, since each of them
/// checks who may act for it.
#[derive(Debug)]
pub struct Enterprise {
    pub name: &'static str,
    /// The first 17 symbols of the credit code; the check character is computed.
    pub code17: &'static str,
    pub legal_rep: &'static Person,
    pub admins: &'static [&'static Person],
    pub nodes: &'static [&'static str],
}

impl Enterprise {
    pub fn credit_code(&self) -> Result<CreditCode, IdError> {
        CreditCode::with_check_char(self.code17)
    }
}

pub const ANDA: Enterprise = Enterprise {
    name: "漯河市安达建筑机械有限公司",
    code17: "91411100MA45AD001",
    legal_rep: &ZHAO_JIANGUO,
    admins: &[&LI_NA],
    nodes: &[HENAN, LUOHE, NATIONAL],
};
pub const QINGHE: Enterprise = Enterprise {
    name: "漯河市青禾食品科技有限公司",
    code17: "91411102MA46QH002",
    legal_rep: &ZHOU_MIN,
    admins: &[&XU_JING],
    nodes: &[HENAN, LUOHE, NATIONAL],
};
pub const YUTONG: Enterprise = Enterprise {
    name: "河南豫通建设工程有限公司",
    code17: "91410105MA47YT003",
    legal_rep: &YANG_FAN,
    admins: &[],
    nodes: &[HENAN, ZHENGZHOU, NATIONAL],
};

const fn polluter(
    name: &'static str,
    code17: &'static str,
    legal_rep: &'static Person,
) -> Enterprise {
    Enterprise {
        name,
        code17,
        legal_rep,
        admins: &[],
        nodes: &[HENAN, LUOHE],
    }
}

/// 排污单位: names share 清源 / 绿源 / 源 so a search by part of a name finds several.
pub const QINGYUAN_FOOD: Enterprise =
    polluter("漯河市清源食品有限公司", "91411102MA48QY011", &WU_ZHIQIANG);
pub const QINGYUAN_PAPER: Enterprise =
    polluter("漯河市清源纸业有限公司", "91411103MA48QY012", &ZHENG_HAIYAN);
pub const QINGYUAN_CHEMICAL: Enterprise = polluter(
    "漯河市郾城区清源化工有限公司",
    "91411103MA48QY013",
    &FENG_GUOQING,
);
pub const LVYUAN_MEAT: Enterprise = polluter(
    "漯河市绿源肉制品加工有限公司",
    "91411104MA48LY014",
    &HE_LIPING,
);
pub const LVYUAN_POWER: Enterprise =
    polluter("漯河市绿源热电有限公司", "91411100MA48LY015", &GAO_JIANJUN);
pub const JINYUAN_PLASTICS: Enterprise = polluter(
    "漯河市金源塑料制品有限公司",
    "91411104MA48JY016",
    &MA_HONGMEI,
);

pub const ENTERPRISES: &[&Enterprise] = &[
    &ANDA,
    &QINGHE,
    &YUTONG,
    &QINGYUAN_FOOD,
    &QINGYUAN_PAPER,
    &QINGYUAN_CHEMICAL,
    &LVYUAN_MEAT,
    &LVYUAN_POWER,
    &JINYUAN_PLASTICS,
];

/// A department with its node: issuing departments seal certificates there; the others own
/// matters or employ counter staff.
#[derive(Debug)]
pub struct Dept {
    pub node: &'static str,
    pub name: &'static str,
    /// The first 17 symbols of the credit code (characters 3–8 are the region).
    pub code17: &'static str,
}

impl Dept {
    pub fn credit_code(&self) -> Result<CreditCode, IdError> {
        CreditCode::with_check_char(self.code17)
    }
}

/// 国家市场监督管理总局: 11100000000013338W, the issuer in the standard's own examples.
pub const SAMR: Dept = Dept {
    node: NATIONAL,
    name: "国家市场监督管理总局",
    code17: "11100000000013338",
};
pub const HA_HUD: Dept = Dept {
    node: HENAN,
    name: "河南省住房和城乡建设厅",
    code17: "11410000MB0000201",
};
pub const ZZ_AMR: Dept = Dept {
    node: ZHENGZHOU,
    name: "郑州市市场监督管理局",
    code17: "11410100MB1234567",
};
pub const ZZ_NRP: Dept = Dept {
    node: ZHENGZHOU,
    name: "郑州市自然资源和规划局",
    code17: "11410100MB0000301",
};
pub const LH_CA: Dept = Dept {
    node: LUOHE,
    name: "漯河市民政局",
    code17: "11411100MB0000401",
};
pub const LH_HRSS: Dept = Dept {
    node: LUOHE,
    name: "漯河市人力资源和社会保障局",
    code17: "11411100MB0000402",
};
pub const LH_EE: Dept = Dept {
    node: LUOHE,
    name: "漯河市生态环境局",
    code17: "11411100MB0000403",
};
pub const LH_HUD: Dept = Dept {
    node: LUOHE,
    name: "漯河市住房和城乡建设局",
    code17: "11411100MB0000404",
};
pub const LH_HF: Dept = Dept {
    node: LUOHE,
    name: "漯河市住房公积金中心",
    code17: "12411100MB0000405",
};
pub const WH_AMR: Dept = Dept {
    node: WUHAN,
    name: "武汉市市场监督管理局",
    code17: "11420100MB0000501",
};

pub const DEPARTMENTS: &[&Dept] = &[
    &SAMR, &HA_HUD, &ZZ_AMR, &ZZ_NRP, &LH_CA, &LH_HRSS, &LH_EE, &LH_HUD, &LH_HF, &WH_AMR,
];

/// A counter clerk or back-office reviewer; the password is generated with the config.
#[derive(Debug)]
pub struct StaffMember {
    pub node: &'static str,
    pub id: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    pub dept: &'static Dept,
    pub counter: &'static str,
}

pub const STAFF: &[StaffMember] = &[
    StaffMember {
        node: LUOHE,
        id: "lh-clerk-01",
        name: "王芳",
        role: "clerk",
        dept: &LH_HUD,
        counter: "漯河市民之家 综合受理3号窗口",
    },
    StaffMember {
        node: LUOHE,
        id: "lh-review-01",
        name: "马骏",
        role: "reviewer",
        dept: &LH_HF,
        counter: "漯河市住房公积金中心 提取审核",
    },
    StaffMember {
        node: HENAN,
        id: "ha-clerk-01",
        name: "宋佳",
        role: "clerk",
        dept: &HA_HUD,
        counter: "河南省政务服务中心 住房和城乡建设厅窗口",
    },
];
