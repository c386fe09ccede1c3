//! Seed corpora for the fuzz targets, from real values: the certificate, grant and
//! presentations of `wallet-core/tests/vectors` (same fixed keys, so mutated seeds still reach
//! the signature checks), their variants (enterprise holder, every matter scope, disclosed
//! subsets), the design's real 电子证照标识 examples, the demo's residents and enterprises, and
//! for the request target one well-formed request per route the page and the departments use.

use std::path::PathBuf;

use serde_json::json;
use wallet_core::certificate::Field;
use wallet_core::grant::GrantTerms;
use wallet_core::*;

const NOW: UnixTime = 1_790_000_000;
const DAY: i64 = 86_400;

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/seeds".into()),
    );
    let seeds = Seeds::build()?;
    for (target, name, bytes) in seeds.files()? {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
    }
    println!("seeds written under {}", out.display());
    Ok(())
}

fn key(seed: u8) -> Result<SecretKey, Failure> {
    Ok(SecretKey::from_bytes(&[seed; 32])?)
}

fn resident(id17: &str) -> Result<ResidentId, Failure> {
    Ok(ResidentId::with_check_digit(id17)?)
}

fn credit(code17: &str) -> Result<CreditCode, Failure> {
    Ok(CreditCode::with_check_char(code17)?)
}

struct Seeds {
    sealed: Vec<SealedCertificate>,
    grants: Vec<Grant>,
    presentations: Vec<Presentation>,
    ids: Vec<String>,
}

impl Seeds {
    fn build() -> Result<Seeds, Failure> {
        let issuer = credit("11410100MB1234567")?;
        let holder = resident("41010219850312003")?;
        let grantee = resident("41110219900101002")?;
        let firm = credit("91411100MA4567890")?;
        let person_cert = CertId::new("11100000000013338W011", &issuer, "ZZ7Q2M4K9T3B8N6R", 1)?;
        let firm_cert = CertId::new("11100000000013338W070", &issuer, "LIC0000000000001", 2)?;
        let field = |name: &str, value: &str, salt: u8| Field {
            name: name.into(),
            value: value.into(),
            salt: [salt; 16],
        };
        let crane = Certificate {
            id: person_cert.clone(),
            type_name: "特种设备作业人员证".into(),
            holder: Holder::Person(holder.clone()),
            holder_name: "张三".into(),
            issuer_name: "郑州市市场监督管理局".into(),
            valid_from: NOW - 400 * DAY,
            valid_until: Some(NOW + 1000 * DAY),
            fields: vec![
                field("作业项目", "起重机指挥 Q1", 1),
                field("证书编号", "TS410100123456", 2),
                field("住址", "郑州市金水区某路1号", 3),
            ],
        };
        let licence = Certificate {
            id: firm_cert.clone(),
            type_name: "营业执照".into(),
            holder: Holder::Enterprise(firm.clone()),
            holder_name: "漯河市起重机械安装有限公司".into(),
            issuer_name: "郑州市市场监督管理局".into(),
            valid_from: NOW - 10 * DAY,
            valid_until: None,
            fields: vec![
                field("名称", "漯河市起重机械安装有限公司", 4),
                field("住所", "漯河市源汇区", 5),
            ],
        };
        let seal = key(0x33)?;
        let crane = Seal::sign(crane, &seal, NOW - 300 * DAY)?;
        let licence = Seal::sign(licence, &seal, NOW - 5 * DAY)?;
        let sealed = vec![
            crane.disclose(&["作业项目"]),
            crane.disclose(&[]),
            licence.disclose(&["名称"]),
            crane,
            licence,
        ];
        let terms =
            |id: u8, cert: &CertId, holder: Holder, matters: MatterScope, limit| GrantTerms {
                id: GrantId([id; 16]),
                cert_id: cert.clone(),
                holder,
                grantee: Grantee {
                    resident_id: grantee.clone(),
                    name: "李四".into(),
                    enterprise: Some(firm.clone()),
                },
                matters,
                not_before: NOW - 3600,
                not_after: NOW + DAY,
                use_limit: limit,
            };
        let device = key(0x11)?;
        let grants = vec![
            terms(
                0x5a,
                &person_cert,
                Holder::Person(holder.clone()),
                MatterScope::Named(vec!["411100-JS-0042".into()]),
                Some(3),
            )
            .sign(&device)?,
            terms(
                0x5b,
                &person_cert,
                Holder::Person(holder.clone()),
                MatterScope::All,
                None,
            )
            .sign(&device)?,
            terms(
                0x5c,
                &firm_cert,
                Holder::Enterprise(firm.clone()),
                MatterScope::Named(
                    ["410000-ZJ-0101", "410000-ZJ-0102", "410000-ZJ-0103"]
                        .map(String::from)
                        .to_vec(),
                ),
                Some(1),
            )
            .sign(&device)?,
        ];
        let henan = RegionCode::new(410000)?;
        let presenter = key(0x22)?;
        let presentations = vec![
            Presentation::sign_with_nonce(
                &presenter,
                henan,
                Subject::Grant(GrantId([0x5a; 16])),
                NOW,
                60,
                [0x77; 16],
            )?,
            Presentation::sign_with_nonce(
                &device,
                henan,
                Subject::Certificate(person_cert.clone()),
                NOW,
                60,
                [0x66; 16],
            )?,
            Presentation::sign_with_nonce(
                &device,
                RegionCode::new(100000)?,
                Subject::Certificate(firm_cert.clone()),
                NOW,
                300,
                [0x55; 16],
            )?,
        ];
        let mut ids: Vec<String> = vec![
            // The design's real examples (GB/T 36904).
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U".into(),
            "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0".into(),
            person_cert.to_string(),
            person_cert.compact().to_owned(),
            firm_cert.to_string(),
            issuer.to_string(),
            firm.to_string(),
            holder.to_string(),
            grantee.to_string(),
            "100000".into(),
            "410000".into(),
            "411100".into(),
            "411102".into(),
        ];
        // The demo's residents (one ending in X) and enterprises.
        for id17 in [
            "41010219850312031",
            "41110219920607042",
            "41110219880420053",
            "42010619890228035",
        ] {
            ids.push(resident(id17)?.to_string());
        }
        for code17 in [
            "91411100MA45AD001",
            "91411102MA46QH002",
            "91410105MA47YT003",
        ] {
            ids.push(credit(code17)?.to_string());
        }
        Ok(Seeds {
            sealed,
            grants,
            presentations,
            ids,
        })
    }

    fn files(&self) -> Result<Vec<(&'static str, String, Vec<u8>)>, Failure> {
        let mut out = Vec::new();
        for (i, s) in self.sealed.iter().enumerate() {
            out.push(("sealed_certificate", format!("bin-{i}"), s.encode()));
            out.push((
                "sealed_certificate",
                format!("b64-{i}"),
                String::from(s.clone()).into_bytes(),
            ));
        }
        for (i, g) in self.grants.iter().enumerate() {
            out.push(("grant", format!("bin-{i}"), g.encode()));
            out.push((
                "grant",
                format!("b64-{i}"),
                String::from(g.clone()).into_bytes(),
            ));
        }
        for (i, p) in self.presentations.iter().enumerate() {
            out.push(("presentation_binary", format!("bin-{i}"), p.encode()));
            out.push((
                "presentation_text",
                format!("text-{i}"),
                p.encode_text().into_bytes(),
            ));
        }
        out.push((
            "presentation_text",
            "scanner-enter".into(),
            format!("{}\r\n", self.presentations[0].encode_text()).into_bytes(),
        ));
        out.push((
            "presentation_text",
            "next-version".into(),
            b"EC2:ABC".to_vec(),
        ));
        for (i, id) in self.ids.iter().enumerate() {
            out.push(("identifiers", format!("id-{i:02}"), id.clone().into_bytes()));
        }
        for (i, bytes) in self.requests()?.into_iter().enumerate() {
            out.push(("server_requests", format!("req-{i:02}"), bytes));
        }
        Ok(out)
    }

    /// `[flags, pick] METHOD PATH \n body`: flags bit 0 chooses Luohe (else the province),
    /// bits 1–2 the caller (0 anonymous, 1 citizen, 2 staff, 3 department), bit 3 set sends
    /// the body without a JSON content type.
    fn requests(&self) -> Result<Vec<Vec<u8>>, Failure> {
        const PROVINCE: u8 = 0;
        const LUOHE: u8 = 1;
        const CITIZEN: u8 = 1 << 1;
        const STAFF: u8 = 2 << 1;
        const DEPARTMENT: u8 = 3 << 1;
        let zhang = resident("41010219850312031")?.to_string();
        let anda = credit("91411100MA45AD001")?.to_string();
        let scan = self.presentations[0].encode_text();
        let grant = String::from(self.grants[0].clone());
        let device = key(0x11)?.public_key().to_string();
        let cert = self.sealed[3].certificate.id.to_string();
        let rows: Vec<(u8, &str, String)> = vec![
            (PROVINCE, "POST /api/wallet/otp", json!({"phone": "19903710001", "purpose": "login"}).to_string()),
            (PROVINCE, "POST /api/wallet/login", json!({"phone": "19903710001", "code": "123456"}).to_string()),
            (PROVINCE, "POST /api/wallet/login", json!({"resident_id": zhang, "password": "wrong"}).to_string()),
            (PROVINCE, "POST /api/wallet/register", json!({"resident_id": zhang, "name": "张伟", "phone": "19903710001", "code": "123456", "password": "correct horse"}).to_string()),
            (PROVINCE, "POST /api/wallet/refresh", json!({"refresh_token": "x"}).to_string()),
            (PROVINCE | CITIZEN, "POST /api/wallet/liveness", json!({"evidence": "blink"}).to_string()),
            (PROVINCE | CITIZEN, "POST /api/wallet/devices", json!({"public_key": device}).to_string()),
            (PROVINCE | CITIZEN, "POST /api/wallet/presentations/current", json!({"text": scan}).to_string()),
            (PROVINCE | CITIZEN, "POST /api/wallet/grants", json!({"grant": grant}).to_string()),
            (PROVINCE | CITIZEN, "POST /api/wallet/objections", json!({"kind": "wrong_data", "cert_id": cert, "reason": "住址有误"}).to_string()),
            (PROVINCE | CITIZEN, "POST /api/wallet/enterprise/{credit_code}/admins", json!({"resident_id": zhang, "name": "张伟"}).to_string()),
            (PROVINCE | CITIZEN, "GET /api/wallet/enterprise", format!("q={anda}")),
            (PROVINCE | CITIZEN, "POST /api/wallet/fund/applications", json!({"debit_card": "6222020200000000000", "invoice_number": "41000000", "deed_tax_number": "41000001"}).to_string()),
            (PROVINCE | CITIZEN, "POST /api/wallet/fund/uploads/{kind}", "\u{89}PNG\r\n\u{1a}\n".into()),
            (PROVINCE, "GET /api/public/disclosures", "q=%E6%B8%85%E6%BA%90&limit=5".into()),
            (PROVINCE, "GET /api/matters", "cert_type=11100000000013338W011".into()),
            (LUOHE | STAFF, "POST /api/staff/login", json!({"id": "lh-clerk-01", "password": "x"}).to_string()),
            (LUOHE | STAFF, "POST /api/counter/cases", json!({"matter": "411100-JS-0042"}).to_string()),
            (LUOHE | STAFF, "POST /api/counter/cases/{id}/retrievals", json!({"text": scan}).to_string()),
            (LUOHE | STAFF, "POST /api/counter/cases/{id}/evaluation", json!({"score": 5, "comment": "满意"}).to_string()),
            (LUOHE | STAFF, "POST /api/counter/cases/{id}/applicant", json!({"resident_id": zhang, "consent": true}).to_string()),
            (LUOHE | STAFF, "POST /api/counter/cases/{id}/sharing/confirm", json!({"kind": "invoice", "number": "41000000"}).to_string()),
            (LUOHE | STAFF, "POST /api/counter/cases/{id}/debit-card", json!({"number": "6222020200000000000", "bank": "中国工商银行"}).to_string()),
            (LUOHE | STAFF, "POST /api/review/fund/applications/{id}/decision", json!({"decision": "reject", "reason": "材料不全"}).to_string()),
            (LUOHE | DEPARTMENT, "POST /api/issuer/certificates", json!({"type_code": "11100000000013338W011", "holder_kind": "person", "holder_id": zhang, "holder_name": "张伟", "valid_from": NOW, "valid_until": NOW + DAY, "fields": {"作业项目": "起重机指挥 Q1", "证书编号": "TS1"}}).to_string()),
            (LUOHE | DEPARTMENT, "POST /api/issuer/certificates/{id}/revoke", json!({"reason": "吊销"}).to_string()),
            (LUOHE | DEPARTMENT, "POST /api/issuer/certificates/{id}/correct", json!({"holder_name": "张伟", "valid_from": NOW, "valid_until": null, "fields": {"作业项目": "Q2"}}).to_string()),
            (LUOHE | DEPARTMENT, "POST /api/issuer/objections/{id}/reject", json!({"reason": "经核实登记无误"}).to_string()),
            (LUOHE, "POST /federation/v1/retrieve", json!({"token": "x", "envelope": {}}).to_string()),
        ];
        Ok(rows
            .into_iter()
            .map(|(flags, line, body)| {
                let mut bytes = vec![flags, 0];
                bytes.extend_from_slice(line.as_bytes());
                bytes.push(b'\n');
                bytes.extend_from_slice(body.as_bytes());
                bytes
            })
            .collect())
    }
}
